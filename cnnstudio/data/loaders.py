"""One entry point for every data source the CLI and the GUI accept."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cnnstudio.data.cifar import read_cifar10_tar
from cnnstudio.data.csvfile import load_csv
from cnnstudio.data.dataset import Dataset
from cnnstudio.data.downloads import ProgressFn
from cnnstudio.data.errors import DataError, DataFormatError
from cnnstudio.data.folder import read_image_folder
from cnnstudio.data.idx import guess_labels_path, load_idx
from cnnstudio.data.npzfile import load_npz
from cnnstudio.data.registry import DATASETS, load_standard
from cnnstudio.data.sample import sample_split
from cnnstudio.data.sniff import check_data_path, sniff

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
    (``size`` (h, w) and ``channels`` 1/3 apply to folders); the CIFAR-10 binary archive
    (``cifar-10-binary.tar.gz``) by path returns its ``(train, test)`` split. The format
    is told from the file's content; only regular files and folders are opened.
    """
    if isinstance(source, str) and source.lower() in NAMED_SOURCES:
        key = source.lower()
        return sample_split() if key == "sample" else load_standard(key, progress, cancel)
    path = Path(source)
    if not os.path.lexists(path):
        raise DataError(path, f"no such file or folder; use a path to an IDX, .npz, .csv file, a CIFAR-10 "
                        f"archive or an image folder, or one of: {', '.join(NAMED_SOURCES)}")
    check_data_path(path)  # a FIFO, a device or "/" is refused before anything opens it
    ds = _load_path(path, labels, size, channels)
    if isinstance(ds, Dataset) and len(ds) == 0:
        raise DataFormatError(path, "holds no images; give a dataset with at least one labelled image")
    return ds


#: what to say about a file that is a format we do not read as a dataset
_NOT_A_DATASET = {
    "cifar-python": ("is the CIFAR 'python version' archive, whose batches are pickled Python objects: "
                     "CNN Studio never unpickles files (loading one can run any code). Download the "
                     "binary version, cifar-10-binary.tar.gz, from https://www.cs.toronto.edu/~kriz/cifar.html "
                     "and give that, or use --data cifar10 to download it"),
    "npy": ("is a single .npy array; save the images and their labels together with "
            "numpy.savez(FILE.npz, x=images, y=labels)"),
    "idx-labels": ("is an IDX labels file; give the images file as the data and this one as its labels "
                   "(--labels FILE)"),
}
_IMAGE_KINDS = ("png", "jpeg", "bmp", "gif")


def _load_path(path: Path, labels, size, channels) -> Dataset | tuple[Dataset, Dataset]:
    """Dispatch on what the file holds (its first bytes), never on its name alone."""
    kind = sniff(path)
    suffix = path.suffix.lower()
    if kind == "unknown" and suffix in (".npz", ".csv"):
        kind = suffix[1:]  # damaged or empty: the reader its name asks for explains what is wrong
    if labels is not None and kind in ("folder", "csv", "cifar10-binary", "tar"):
        where = {"folder": "its sub-folder names", "csv": "the first column of every row"}.get(
            kind, "inside the archive")
        raise DataFormatError(path, f"a separate labels file ({labels}) goes with an IDX images file or "
                              f"an .npz; here the labels are {where}, so leave --labels out")
    if kind == "folder":
        return read_image_folder(path, size=size, channels=channels)[0]
    if kind == "npz":
        return load_npz(path, labels)
    if kind == "csv":
        return load_csv(path)
    if kind in ("cifar10-binary", "tar"):
        return read_cifar10_tar(path)  # (train, test): the archive's own split
    if kind in _NOT_A_DATASET and labels is None:
        raise DataFormatError(path, _NOT_A_DATASET[kind])
    if kind in _IMAGE_KINDS:
        raise DataFormatError(path, f"is a single {kind.upper()} image, not a dataset; give a folder with one "
                              "sub-folder of images per class, or classify it with 'cnnstudio predict'")
    # a labels file given means the person says this is IDX: a wrong magic is then the error to show
    if kind == "idx-images" or labels is not None or "idx" in path.name.lower() or "ubyte" in path.name.lower():
        labels = labels or guess_labels_path(path)
        if labels is None:
            raise DataFormatError(path, "an IDX images file needs its labels file: pass --labels FILE "
                                  "(e.g. train-labels-idx1-ubyte.gz)")
        check_data_path(labels, "labels file")
        return load_idx(path, labels)
    raise DataFormatError(path, "unknown data format: its content is none of IDX (raw or .gz), .npz, "
                          "CSV, a CIFAR-10 binary archive or an image folder")
