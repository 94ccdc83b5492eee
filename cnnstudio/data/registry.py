"""The standard datasets CNN Studio can download, with their published checksums.

Checksums are the MD5s (and sizes, which cap what a download may write) published by the dataset authors (CIFAR-10's web page) and
used by torchvision's ``datasets/mnist.py`` and ``datasets/cifar.py`` for these
exact files. Files are cached under ``platformdirs.user_cache_dir("cnnstudio")``
(``$CNNSTUDIO_CACHE`` overrides it, e.g. in tests).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cnnstudio.data.cifar import CIFAR10_CLASSES, read_cifar10_tar
from cnnstudio.data.dataset import Dataset
from cnnstudio.data.downloads import ProgressFn, download, verify_file
from cnnstudio.data.errors import DataError, DataFormatError, DownloadCancelled, DownloadError
from cnnstudio.data.idx import load_idx


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    checksum: str            # "md5:<hex>" or "sha256:<hex>"
    mirrors: tuple[str, ...]  # base URLs, tried in order
    size: int | None = None  # published size in bytes: caps what a download may write

    def urls(self) -> list[str]:
        return [m + self.filename for m in self.mirrors]


@dataclass(frozen=True)
class StandardDataset:
    key: str
    title: str
    kind: str                # "idx" (4 files) or "cifar10-binary" (1 archive)
    files: tuple[RemoteFile, ...]
    class_names: tuple[str, ...]
    homepage: str
    licence: str
    image_shape: tuple[int, int, int] = (28, 28, 1)  # (H, W, C): lets callers check before a download


def _idx_files(mirrors: tuple[str, ...], md5s: tuple[str, str, str, str],
               sizes: tuple[int, int, int, int]) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(n, "md5:" + h, mirrors, size) for n, h, size in zip(names, md5s, sizes))


DATASETS: dict[str, StandardDataset] = {
    "mnist": StandardDataset(
        "mnist", "MNIST", "idx",
        _idx_files(("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
                   ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
                   (9_912_422, 28_881, 1_648_877, 4_542)),
        tuple(str(d) for d in range(10)), "http://yann.lecun.com/exdb/mnist/", "CC BY-SA 3.0"),
    "fashion-mnist": StandardDataset(
        "fashion-mnist", "Fashion-MNIST", "idx",
        _idx_files(("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
                   ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
                   (26_421_880, 29_515, 4_422_102, 5_148)),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"), "https://github.com/zalandoresearch/fashion-mnist", "MIT"),
    "kmnist": StandardDataset(
        "kmnist", "Kuzushiji-MNIST", "idx",
        _idx_files(("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
                   ("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                    "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"),
                   (18_165_135, 29_497, 3_041_136, 5_120)),
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        "https://github.com/rois-codh/kmnist", "CC BY-SA 4.0"),
    "cifar10": StandardDataset(
        "cifar10", "CIFAR-10", "cifar10-binary",
        (RemoteFile("cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530",
                    ("https://www.cs.toronto.edu/~kriz/",), 170_052_171),),
        tuple(CIFAR10_CLASSES), "https://www.cs.toronto.edu/~kriz/cifar.html",
        "free to use; cite Krizhevsky 2009", (32, 32, 3)),
}


def cache_dir() -> Path:
    """Where downloads live: ``$CNNSTUDIO_CACHE`` or the platform's user cache dir."""
    env = os.environ.get("CNNSTUDIO_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("cnnstudio"))


def dataset_dir(key: str) -> Path:
    return cache_dir() / "datasets" / key


def is_downloaded(key: str) -> bool:
    """True if every file of ``key`` is in the cache (final names are only ever verified files)."""
    return all((dataset_dir(key) / f.filename).is_file() for f in DATASETS[key].files)


def fetch(key: str, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
          timeout: float = 10.0, verify_existing: bool = False) -> list[Path]:
    """Download (or find in the cache) every file of dataset ``key``; return their paths.

    Each file tries its mirrors in order; an unreachable mirror or HTTP error moves to the
    next; the last error is raised if all fail. Cancel is never retried.
    """
    info = _info(key)
    _make_cache_dir(dataset_dir(key))
    paths = []
    for rf in info.files:
        dest = dataset_dir(key) / rf.filename
        if dest.is_file():
            if not verify_existing or verify_file(dest, rf.checksum):
                paths.append(dest)
                continue
            # damaged since it was verified (disk error, an edit): the final name must only ever
            # hold verified data, also if the new download fails
            dest.unlink()
        errors: list[DownloadError] = []
        for url in rf.urls():
            try:
                paths.append(download(url, dest, rf.checksum, progress, cancel, timeout, size=rf.size))
                break
            except DownloadCancelled:
                raise
            except DownloadError as exc:
                errors.append(exc)
        else:
            if len(errors) == 1:
                raise errors[0]
            tried = "; ".join(f"{e.path}: {e.problem.split(';')[0]}" for e in errors)
            raise DownloadError(rf.filename, f"no mirror worked ({tried}); {errors[-1].problem.split('; ', 1)[-1]}")
    return paths


def _make_cache_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(folder, f"cannot create the download folder ({exc.strerror or exc}); set "
                        "CNNSTUDIO_CACHE to a folder you can write to, or use --data sample") from None


def _info(key: str) -> StandardDataset:
    try:
        return DATASETS[key]
    except KeyError:
        raise DataError(None, f"unknown dataset {key!r}; choose one of "
                        f"{', '.join(['sample', *DATASETS])}") from None


def load_standard(key: str, progress: ProgressFn | None = None,
                  cancel: threading.Event | None = None, timeout: float = 10.0) -> tuple[Dataset, Dataset]:
    """(train, test) of a standard dataset, downloading it first if needed.

    The official train/test split is used as (train, validation).
    """
    info = _info(key)
    try:
        train, test = _read(info, fetch(key, progress, cancel, timeout))
    except DataFormatError:
        # a cached file that no longer reads was damaged after its check: re-verify every file,
        # download again those that differ, and read once more (no endless "download it again")
        train, test = _read(info, fetch(key, progress, cancel, timeout, verify_existing=True))
    train.source = test.source = key
    return train, test


def _read(info: StandardDataset, paths: list[Path]) -> tuple[Dataset, Dataset]:
    if info.kind == "cifar10-binary":
        return read_cifar10_tar(paths[0])
    names = list(info.class_names)
    return (load_idx(paths[0], paths[1], names, f"{info.title} (train)"),
            load_idx(paths[2], paths[3], names, f"{info.title} (test)"))
