"""The operator's command line, ``prorata``."""
