"""``python -m flowzip.cli``: the command line."""

from .main import main

main()
