"""One entry point for every data source the CLI and the GUI accept."""

from __future__ import annotations

import threading
from pathlib import Path

from cnnstudio.data.csvfile import load_csv
from cnnstudio.data.dataset import Dataset
from cnnstudio.data.downloads import ProgressFn
from cnnstudio.data.errors import DataError, DataFormatError
from cnnstudio.data.folder import read_image_folder
from cnnstudio.data.idx import guess_labels_path, load_idx
from cnnstudio.data.npzfile import load_npz
from cnnstudio.data.registry import DATASETS, load_standard
from cnnstudio.data.sample import sample_split

NAMED_SOURCES = ("sample", *DATASETS)


def load_dataset(source, labels=None, *, size: tuple[int, int] | None = None,
                 channels: int | None = None, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> tuple[Dataset, Dataset] | Dataset:
    """Load a dataset by name or path.

    Named sources ("sample", "mnist", "fashion-mnist", "kmnist", "cifar10") return
    ``(train, val)``: the sample's fixed split, or the official train/test split
    (downloaded to the cache if needed; ``progress``/``cancel`` go to the download).
    A path returns one :class:`Dataset` (split it with :func:`cnnstudio.data.split`):
    an IDX images file (``labels`` = its labels file, guessed from MNIST naming if
    omitted), an ``.npz`` (``labels`` optional), a ``.csv``, or an image folder
    (``size`` (h, w) and ``channels`` 1/3 apply to folders).
    """
    if isinstance(source, str) and source.lower() in NAMED_SOURCES:
        key = source.lower()
        return sample_split() if key == "sample" else load_standard(key, progress, cancel)
    path = Path(source)
    if not path.exists():
        raise DataError(path, f"no such file or folder; use a path to an IDX, .npz, .csv file or "
                        f"an image folder, or one of: {', '.join(NAMED_SOURCES)}")
    ds = _load_path(path, labels, size, channels)
    if len(ds) == 0:
        raise DataFormatError(path, "holds no images; give a dataset with at least one labelled image")
    return ds


def _load_path(path: Path, labels, size, channels) -> Dataset:
    suffix = path.suffix.lower()
    if labels is not None and (path.is_dir() or suffix == ".csv"):
        where = "its sub-folder names" if path.is_dir() else "the first column of every row"
        raise DataFormatError(path, f"a separate labels file ({labels}) goes with an IDX images file or "
                              f"an .npz; here the labels are {where}, so leave --labels out")
    if path.is_dir():
        return read_image_folder(path, size=size, channels=channels)[0]
    if suffix == ".npz":
        return load_npz(path, labels)
    if suffix == ".csv":
        return load_csv(path)
    # a labels file given means the person says this is IDX: a wrong magic is then the error to show
    if labels is not None or "idx" in path.name.lower() or "ubyte" in path.name.lower() or _looks_like_idx(path):
        labels = labels or guess_labels_path(path)
        if labels is None:
            raise DataFormatError(path, "an IDX images file needs its labels file: pass --labels FILE "
                                  "(e.g. train-labels-idx1-ubyte.gz)")
        return load_idx(path, labels)
    raise DataFormatError(path, "unknown data format; expected an IDX file (.gz or raw), .npz, "
                          ".csv, or a folder of class sub-folders")


def _looks_like_idx(path: Path) -> bool:
    """IDX images start 00 00 08 03 (raw) or are gzip (1f 8b) with an idx-like name."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head == b"\x00\x00\x08\x03" or head[:2] == b"\x1f\x8b"
