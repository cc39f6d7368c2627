"""The one family of errors flowzip raises for anything a user or a file controls, and the two
helpers that word its messages (``plural``, ``a_or_an``)."""


class FlowzipError(Exception):
    """Base class: the message is one line, fit to show to a user."""


class FormatError(FlowzipError):
    """A .fz file is corrupt, truncated, from a newer version, or not a .fz file at all."""


class ModelError(FlowzipError):
    """A model is unknown, its weights are missing, or they do not match what a file needs."""


class ImageError(FlowzipError):
    """An image cannot be read, or holds data flowzip cannot keep exactly."""


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 image``, ``2 images`` (``words``: the plural where it is not ``word + "s"``)."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def a_or_an(word: str) -> str:
    """The article before ``word`` as it is read aloud: "an 8-bit", "an RGB", "a 16-bit", "a LA"."""
    head = str(word).lstrip()
    if head[:1].isdigit():
        number = head[: len(head) - len(head.lstrip("0123456789"))]
        return "an" if number.startswith("8") or number in ("11", "18") else "a"
    if head[:1].isupper() and (len(head) == 1 or head[1:2].isupper()):  # letters read one by one
        return "an" if head[:1] in "AEFHILMNORSX" else "a"
    return "an" if head[:1].lower() in "aeiou" else "a"
