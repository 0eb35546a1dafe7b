"""``python -m vsee_sandbox``: the same as the ``vsee-sandbox`` command."""

from ._cli import main

main()
