"""The pipelines: how the tiles of a file's images are laid out and coded, one per format version.
``tiled`` (version 1: a stream per tile), ``stacked`` (version 2: one stack) and ``chunked``
(version 3: independent stacks, coded on worker processes, ``workers``); ``tiles`` cuts and pads."""
