"""The pure billing engine: money, periods, catalog, proration, quotes and renewals.

Standard library only: no I/O, no clock reads, no framework imports (an import-linter contract keeps it so).
"""
