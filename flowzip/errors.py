"""The one family of errors flowzip raises for anything a user or a file controls."""


class FlowzipError(Exception):
    """Base class: the message is one line, fit to show to a user."""


class FormatError(FlowzipError):
    """A .fz file is corrupt, truncated, from a newer version, or not a .fz file at all."""


class ModelError(FlowzipError):
    """A model is unknown, its weights are missing, or they do not match what a file needs."""


class ImageError(FlowzipError):
    """An image cannot be read, or holds data flowzip cannot keep exactly."""
