"""The EU VAT registry (VIES), behind the ``VatRegistry`` port (``services/ports.py``)."""
