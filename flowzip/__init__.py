"""flowzip: lossless image compression with normalizing flows.

    import flowzip
    data = flowzip.compress("photo.png")            # -> bytes of a .fz file
    pixels = flowzip.decompress(data)               # -> numpy uint8 array, exactly the input pixels
    archive = flowzip.compress_archive(["a.png", "b.png"])
    for name, pixels in flowzip.decompress_archive(archive): ...
    model = flowzip.load_model("idf-rgb-v2")        # a model by name; pass it as model=...
"""

import importlib

from .errors import FlowzipError, FormatError, ImageError, ModelError
from .version import __version__

_LAZY = {"compress": "api", "compress_archive": "api", "decompress": "api", "decompress_archive": "api",
         "load_model": "zoo"}  # imported when first used (``flowzip --version`` needs none of them)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["compress", "compress_archive", "decompress", "decompress_archive", "load_model", "FlowzipError",
           "FormatError", "ImageError", "ModelError", "__version__"]
