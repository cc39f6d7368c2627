"""flowzip: lossless image compression with normalizing flows.

    import flowzip
    data = flowzip.compress("photo.png")          # -> bytes of a .fz file
    pixels = flowzip.decompress(data)             # -> numpy uint8 array, exactly the input pixels
    model = flowzip.load_model("idf-rgb-v1")      # a shipped model
"""

from .api import compress, decompress
from .errors import FlowzipError, FormatError, ImageError, ModelError
from .zoo import load_model

__version__ = "0.1.0"
__all__ = ["compress", "decompress", "load_model", "FlowzipError", "FormatError", "ImageError",
           "ModelError", "__version__"]
