"""Coding: the ANS boundary (``ans``), the fixed-point grid and exact networks (``fixedpoint``),
integer probability tables (``tables``), the logistic codec (``logistic``), one codec per model
family (``idf``, ``glow``) and the two pipelines that lay tiles out in a file (``tiled``,
``stacked``)."""
