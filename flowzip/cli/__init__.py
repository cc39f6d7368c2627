"""The ``flowzip`` command line: ``main`` (the click group, in ``main.py``) and a module per command."""
