"""``python -m prorata`` is the ``prorata`` command."""

from prorata.entrypoints.cli.main import run

run()
