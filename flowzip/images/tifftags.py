"""A TIFF's descriptive tags, which a camera or a scanner writes beside the pixels (description,
make, model, software, date and time, artist, copyright, and the Exif and GPS directories), kept
as an Exif block: the same tags in the same structure (an Exif block is a small TIFF), so that a
PNG gets them as its eXIf chunk and a TIFF written back as its own tags. The resolution goes with
``images.resolution``, the ICC profile and the XMP packet under their own keys; the tags that lay
out the pixels are the written file's own, and the orientation is in the pixels (Pillow turns a
TIFF's pixels as it says when it reads them).
"""

from __future__ import annotations

from PIL import ExifTags, Image

# document name, description, make, model, page name, software, date and time, artist, host, copyright
# (not the orientation: Pillow turns a TIFF's pixels as it says when it reads them, and drops it)
DESCRIPTIVE = (269, 270, 271, 272, 285, 305, 306, 315, 316, 33432)
DIRECTORIES = (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo)


def exif_block(im: Image.Image) -> bytes | None:
    """The Exif block (with Pillow's ``Exif\\0\\0`` prefix) of a TIFF's descriptive tags and
    directories; None where it has none. Where Pillow cannot write a directory's values again, the
    tags are kept without the directories."""
    try:
        source = im.getexif()
        tags = {tag: source[tag] for tag in DESCRIPTIVE if tag in source}
        directories = {tag: found for tag in DIRECTORIES if tag in source and (found := source.get_ifd(tag))}
    except Exception:  # noqa: BLE001 - Pillow's errors on a damaged directory are of many kinds: nothing to keep
        return None
    for kept in (directories, {}):
        if not (tags or kept):
            continue
        exif = Image.Exif()
        exif.update(tags)
        for tag, directory in kept.items():
            exif.get_ifd(tag).update(directory)
        try:
            return exif.tobytes()
        except Exception:  # noqa: BLE001 - a value Pillow read but cannot write (of many kinds)
            pass
    return None
