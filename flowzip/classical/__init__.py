"""The classical coder (family 3, ``classical-v1``): per tile the smallest of a constant, a context
coder (``classical``: a weighted predictor with adaptive context modelling, ``predictive``; palette
planes, ``template``) and PNG filters with zlib (``deflate``, on PNG's rows: ``pngrows``); ``planes.PlanesCodec`` pushes the
chosen bytes onto an entropy stack as a tile codec."""
