"""The learned local-context prior's exact coder: its network as exact integer arithmetic
(``network``), the compiled loops that gather windows and code pixels under its mixture
(``kernels``), and the tile codec (``codec``)."""
