"""flowzip: lossless image compression with normalizing flows.

    import flowzip
    data = flowzip.compress("photo.png")            # -> bytes of a .fz file
    pixels = flowzip.decompress(data)               # -> numpy uint8 array, exactly the input pixels
    archive = flowzip.compress_archive(["a.png", "b.png"])
    for name, pixels in flowzip.decompress_archive(archive): ...
    model = flowzip.load_model("idf-rgb-v2")        # a model by name; pass it as model=...
"""

from .api import compress, compress_archive, decompress, decompress_archive
from .errors import FlowzipError, FormatError, ImageError, ModelError
from .version import __version__
from .zoo import load_model

__all__ = ["compress", "compress_archive", "decompress", "decompress_archive", "load_model", "FlowzipError",
           "FormatError", "ImageError", "ModelError", "__version__"]
