"""The exact flow codecs: each flow family's fixed-point twin (``fixedpoint``) coded onto an
entropy stack. ``idf`` codes an integer discrete flow's latents directly; ``glow`` codes a
dequantized Glow with local bits-back coding (``bitsback``); ``tables`` are the Glow's shipped
integer tables, ``squeeze`` the squeezing they share. The level walk each follows is the one its
float model follows (``flowzip.architecture``)."""
