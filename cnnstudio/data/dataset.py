"""The in-memory dataset and the transforms every loader and caller shares.

Images are stored as ``uint8 (N, H, W, C)`` (compact, what files hold); the
engine gets ``float32 (N, C, H, W)`` in [0, 1] from :func:`to_float_nchw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnstudio.data.errors import DataFormatError, DataMismatchError


@dataclass
class Dataset:
    """A labelled image set.

    x: uint8 (N, H, W, C); y: int64 (N,) with values in [0, len(class_names)).
    ``source`` says where it came from (a path, "sample", "mnist", ...).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y).astype(np.int64, copy=False)
        if self.x.dtype != np.uint8 or self.x.ndim != 4:
            raise DataFormatError(self.source or None, f"dataset '{self.name}': images must be uint8 "
                                  f"(N, H, W, C), got {self.x.dtype} {self.x.shape}")
        if 0 in self.x.shape[1:3]:
            raise DataFormatError(self.source or None, f"dataset '{self.name}': images of "
                                  f"{self.x.shape[1]}x{self.x.shape[2]} pixels hold nothing; every image "
                                  "needs at least 1x1 pixel")
        if self.y.shape != (self.x.shape[0],):
            raise DataFormatError(self.source or None, f"dataset '{self.name}': {self.x.shape[0]} images "
                                  f"but labels of shape {self.y.shape}")
        if self.y.size and (self.y.min() < 0 or self.y.max() >= len(self.class_names)):
            raise DataFormatError(self.source or None, f"dataset '{self.name}': labels must be in "
                                  f"0..{len(self.class_names) - 1}, got {self.y.min()}..{self.y.max()}")

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, {len(self)} images {'x'.join(map(str, self.image_shape))}, "
                f"{self.num_classes} classes, source={self.source!r})")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C)."""
        return tuple(int(s) for s in self.x.shape[1:])  # type: ignore[return-value]

    def subset(self, indices, name: str | None = None) -> "Dataset":
        """A new Dataset with the rows ``indices`` (copied). Per-image metadata (``meta["files"]``,
        an image folder's file names) is taken along for those rows."""
        idx = np.asarray(indices, dtype=np.int64)
        meta = dict(self.meta)
        files = meta.get("files")
        if files is not None:
            meta["files"] = [files[i] for i in idx.tolist()] if len(files) == len(self) else None
        return Dataset(name or self.name, self.x[idx], self.y[idx], list(self.class_names),
                       self.source, meta)

    def class_counts(self) -> np.ndarray:
        """int64 (num_classes,): images per class."""
        return np.bincount(self.y, minlength=self.num_classes)


def check_image_shape(path, what: str, image_shape: tuple[int, ...], n: int) -> None:
    """Refuse, from a header alone, images a dataset cannot hold (see :mod:`cnnstudio.data.limits`).

    image_shape: (H, W) or (H, W, C) as declared; n: the declared image count.
    """
    from cnnstudio.data import limits

    if len(image_shape) not in (2, 3):
        return  # the reader's own shape check explains it
    values = 1
    for d in image_shape:
        values *= int(d)
    dims = "x".join(str(int(d)) for d in image_shape)
    if values == 0:
        raise DataFormatError(path, f"{what}: images of {dims} pixels hold nothing (zero-sized); every "
                              "image needs at least 1x1 pixel")
    if values > limits.MAX_IMAGE_VALUES:
        raise DataFormatError(path, f"{what}: images of {dims} ({values:,} values each) are larger than the "
                              f"{limits.MAX_IMAGE_VALUES:,} values one image may have; scale them down")
    if n > limits.MAX_IMAGES or n * values > limits.MAX_PIXEL_BYTES:
        raise DataFormatError(path, f"{what}: {n:,} images of {dims} need {n * values:,} bytes, more than the "
                              f"{limits.MAX_PIXEL_BYTES:,} a dataset may hold here; use a part of it")


def to_float_nchw(x_uint8: np.ndarray, dtype=np.float32) -> np.ndarray:
    """x_uint8: (N, H, W, C) uint8 -> (N, C, H, W) float32 scaled to [0, 1]."""
    if x_uint8.ndim != 4:
        raise ValueError(f"to_float_nchw expects images (N, H, W, C), got shape {x_uint8.shape}")
    dt = np.dtype(dtype)
    out = np.empty((x_uint8.shape[0], x_uint8.shape[3]) + x_uint8.shape[1:3], dtype=dt)
    np.multiply(x_uint8.transpose(0, 3, 1, 2), dt.type(1.0 / 255.0), out=out, casting="unsafe")
    return out


def split_indices(y: np.ndarray, num_classes: int, val_fraction: float = 0.1,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of a stratified, deterministic split of labels ``y`` (N,).

    Each class contributes ``round(count * val_fraction)`` images to validation
    (at least one image of a class stays in train). Rows are shuffled per class with
    ``numpy.random.default_rng(seed)`` before taking, and both parts are returned in a
    seeded shuffled order (so label-sorted sources are mixed). Depends on nothing but
    ``y``, the fraction and the seed: the same labels always give the same rows.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in range(num_classes):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(rows.size)]
        n_val = min(int(round(rows.size * val_fraction)), max(rows.size - 1, 0))
        val_idx.append(rows[:n_val])
        train_idx.append(rows[n_val:])
    tr = np.concatenate(train_idx) if train_idx else np.zeros(0, np.int64)
    va = np.concatenate(val_idx) if val_idx else np.zeros(0, np.int64)
    return tr[rng.permutation(tr.size)], va[rng.permutation(va.size)]


def split(ds: Dataset, val_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Stratified, deterministic split into (train, val): the rows of :func:`split_indices`."""
    tr, va = split_indices(ds.y, ds.num_classes, val_fraction, seed)
    return ds.subset(tr, f"{ds.name} (train)"), ds.subset(va, f"{ds.name} (validation)")


def to_grayscale(ds: Dataset) -> Dataset:
    """Colour -> 1 channel with ITU-R 601 luma weights (what Pillow's "L" mode uses)."""
    if ds.x.shape[3] == 1:
        return ds
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gray = ds.x[..., :3].astype(np.float32) @ weights
    x = np.clip(np.rint(gray), 0, 255).astype(np.uint8)[..., None]
    return Dataset(ds.name, x, ds.y, list(ds.class_names), ds.source, dict(ds.meta))


def to_rgb(ds: Dataset) -> Dataset:
    """1 channel -> 3 identical channels."""
    if ds.x.shape[3] == 3:
        return ds
    x = np.repeat(ds.x[..., :1], 3, axis=3)
    return Dataset(ds.name, x, ds.y, list(ds.class_names), ds.source, dict(ds.meta))


def resize_images(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """x: uint8 (N, H, W, C) -> uint8 (N, height, width, C), bilinear (area-like when shrinking).

    Pillow per image (antialiased bilinear).
    """
    from PIL import Image

    n, h, w, c = x.shape
    if (h, w) == (height, width):
        return x
    out = np.empty((n, height, width, c), dtype=np.uint8)
    for i in range(n):
        if c == 3:  # one call per colour image, not one per channel
            img = Image.fromarray(np.ascontiguousarray(x[i]))
            out[i] = np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))
            continue
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(x[i, :, :, ch]))
            out[i, :, :, ch] = np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))
    return out


def resize(ds: Dataset, height: int, width: int) -> Dataset:
    """The dataset with every image resized to (height, width)."""
    if ds.image_shape[:2] == (height, width):
        return ds
    x = resize_images(ds.x, height, width)
    return Dataset(ds.name, x, ds.y, list(ds.class_names), ds.source, dict(ds.meta))


def _channels_word(c: int) -> str:
    return "1-channel (grayscale)" if c == 1 else f"{c}-channel colour"


def fit_to_network(ds: Dataset, height: int, width: int, channels: int) -> Dataset:
    """Resize to the network's input if the size differs; refuse a channel mismatch.

    Raises DataMismatchError for grayscale vs colour: the caller (CLI/GUI) decides
    whether to convert with :func:`to_grayscale` / :func:`to_rgb`.
    """
    check_channels(ds.name, ds.image_shape[2], channels)
    return resize(ds, height, width)


def check_channels(name: str, data_channels: int, network_channels: int) -> None:
    """Raise DataMismatchError (naming dataset ``name`` and the fix) unless the counts agree."""
    c = data_channels
    if c != network_channels:
        flag = "--grayscale" if network_channels == 1 else "--rgb"
        fix = f"set the network's input channels to {c}, or convert the images with {flag}"
        raise DataMismatchError(None, f"the network expects {_channels_word(network_channels)} input but "
                                f"'{name}' has {_channels_word(c)} images; {fix}")
