"""``python -m gateway``: the same as the ``vsee-gateway`` command."""

from gateway.cli import main

main()
