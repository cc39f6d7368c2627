"""Collections of images: ``FzDataset`` (``data``), the images of .fz archives as a PyTorch
dataset, and ``cluster``, a large collection compressed on a Dask cluster."""


def __getattr__(name):  # FzDataset imports torch: only when asked for
    if name == "FzDataset":
        from .data import FzDataset

        return FzDataset
    raise AttributeError(name)
