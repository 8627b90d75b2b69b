"""The portal's pages, one module per area of the Billing portal."""
