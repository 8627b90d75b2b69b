"""Exchange rates from their publishers' files (``nbp.py``: the National Bank of Poland's table A)."""
