"""``python -m controller.cli``: the ``poreline`` command."""

from controller.cli.main import main

main()
