"""The API's routes, one module per area: catalog and quotes, accounts, orders, billing, licenses, operator."""
