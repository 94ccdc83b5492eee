"""Image-folder reader: one sub-folder per class, PNG/JPEG/BMP files inside.

    root/
      cat/  001.png 002.jpg ...
      dog/  a.bmp ...

Class names are the sorted sub-folder names. Unreadable files are skipped and
reported by name (``ImportReport.skipped``) while the rest are imported.
Decoding uses Pillow (no Qt in the data package).
"""

from __future__ import annotations

import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cnnstudio.data import limits
from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import DataError, DataFormatError
from cnnstudio.data.sniff import check_data_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
LAYOUT = ("expected one sub-folder per class (e.g. root/cat/*.png, root/dog/*.png) "
          "holding PNG, JPEG or BMP images")
#: Refuse images over this many pixels: a decompression bomb, not a training image.
MAX_PIXELS = limits.MAX_PIXELS


class ImportCancelled(DataError):
    """The caller cancelled an image-folder import."""


@dataclass
class ImportReport:
    """What an import did: per-class counts and the files it skipped, with the reason."""

    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _class_files(root: Path) -> dict[str, list[Path]]:
    """Class name -> every visible file in its folder (sorted)."""
    check_data_path(root, "image folder")  # "/" or a device is refused before it is scanned
    if not root.is_dir():
        raise DataFormatError(root, f"not a folder; {LAYOUT}")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataFormatError(root, f"no class sub-folders found; {LAYOUT}")
    if len(classes) > limits.MAX_FOLDER_CLASSES:
        raise DataFormatError(root, f"{len(classes):,} sub-folders, more than the {limits.MAX_FOLDER_CLASSES:,} "
                              f"classes an image folder may have; is this the right folder? {LAYOUT}")
    found, total = {}, 0
    for c in classes:
        # is_file() is false for FIFOs and devices (and links to them): never opened
        found[c.name] = sorted(f for f in c.iterdir() if f.is_file() and not f.name.startswith("."))
        total += len(found[c.name])
        if total > limits.MAX_FOLDER_FILES:
            raise DataFormatError(root, f"more than {limits.MAX_FOLDER_FILES:,} files in its class folders; "
                                  f"is this the right folder? {LAYOUT}")
    if not any(_is_image_name(f) for files in found.values() for f in files):
        raise DataFormatError(root, f"the class folders hold no PNG, JPEG or BMP files; {LAYOUT}")
    return found


def scan_image_folder(root) -> dict[str, list[Path]]:
    """Class name -> sorted PNG/JPEG/BMP paths (no decoding): the import dialog's preview.

    Raises DataFormatError when ``root`` is not a folder or has no class folders with images.
    """
    return {c: [f for f in files if _is_image_name(f)] for c, files in _class_files(Path(root)).items()}


def _is_image_name(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: chunks of one PNG walked before giving up (a real PNG has tens)
_MAX_PNG_CHUNKS = 100_000


def pixel_limit(path: Path) -> int:
    """The most pixels the image file ``path`` may declare: ``MAX_PIXELS``, and for a small file
    ``MAX_PIXELS_PER_BYTE`` per byte of it (no format packs more honestly)."""
    size = os.path.getsize(path)
    return min(MAX_PIXELS, max(limits.IMAGE_RATIO_FREE_PIXELS, limits.MAX_PIXELS_PER_BYTE * size))


def check_image_file(path: Path) -> None:
    """Refuse, before Pillow reads it, a PNG with a chunk claiming more bytes than the file has.

    Pillow skips the rest of an IDAT chunk with one ``read()`` of its claimed length: an IDAT
    claiming 4,294,904,865 bytes raised MemoryError under a 3 GiB address-space limit.
    Raises ValueError with the reason.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if fh.read(8) != _PNG_SIGNATURE:
            return  # not a PNG: Pillow's own checks and the pixel limit apply
        pos = 8
        for _ in range(_MAX_PNG_CHUNKS):
            head = fh.read(8)
            if len(head) < 8:
                return  # truncated: Pillow says so
            length, kind = struct.unpack(">I4s", head)
            if length > size - pos - 12:
                raise ValueError(f"PNG chunk {kind.decode('latin1')!r} claims {length:,} bytes but the file "
                                 f"has {max(size - pos - 12, 0):,} left: corrupt or forged")
            if kind == b"IEND":
                return
            pos += 12 + length
            fh.seek(pos)
        raise ValueError(f"more than {_MAX_PNG_CHUNKS:,} PNG chunks: corrupt or forged")


def _decode(path: Path, size: tuple[int, int] | None, mode: str | None):
    """Return (uint8 (H, W, C) array, was_gray) or raise ValueError with the reason."""
    from PIL import Image, UnidentifiedImageError

    try:
        check_image_file(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                img: Image.Image = opened   # convert/resize below return plain Images
                if img.width * img.height > MAX_PIXELS:
                    raise ValueError(f"{img.width}x{img.height} is too large for a training image")
                if img.width * img.height > pixel_limit(path):
                    raise ValueError(f"declares {img.width}x{img.height} pixels in a file of "
                                     f"{os.path.getsize(path):,} bytes, more than "
                                     f"{limits.MAX_PIXELS_PER_BYTE} per byte: corrupt or forged")
                was_gray = img.mode in ("1", "L", "LA", "I", "I;16", "F", "P") and _palette_gray(img)
                if size is not None and img.format == "JPEG":
                    img.draft(mode or "RGB", (size[1], size[0]))  # decode big photos at reduced scale
                img = img.convert(mode or "RGB")
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                arr = np.asarray(img, dtype=np.uint8)
    except MemoryError:
        raise ValueError("not enough memory to decode it (corrupt or forged sizes)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    if arr.ndim == 2:
        return arr[..., None], was_gray
    return arr, was_gray or gray_content(arr)


#: JPEG's colour subsampling leaves a few levels of difference between the channels of a gray image
GRAY_TOLERANCE = 8


def gray_content(rgb: np.ndarray) -> bool:
    """rgb: uint8 (H, W, 3). True when the three channels (almost) agree: a gray image saved as
    RGB, which scanners, phones and many tools write."""
    c = rgb.astype(np.int16)
    return bool(np.abs(c[..., 0] - c[..., 1]).max() <= GRAY_TOLERANCE
                and np.abs(c[..., 1] - c[..., 2]).max() <= GRAY_TOLERANCE)


def _palette_gray(img) -> bool:
    """A palette image counts as grayscale only if every palette entry is gray."""
    if img.mode != "P":
        return True
    pal = img.getpalette() or []
    return all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))


def read_image_folder(root, size: tuple[int, int] | None = None, channels: int | None = None,
                      name: str | None = None, progress: Callable[[int, int], None] | None = None,
                      cancel: threading.Event | None = None) -> tuple[Dataset, ImportReport]:
    """Import a class-folder tree -> (Dataset x uint8 (N, H, W, C), ImportReport).

    size: (height, width) to resize to; None = the first readable image's size.
    channels: 1 (grayscale), 3 (colour) or None = 1 if every image is grayscale (a gray mode,
    or RGB whose channels agree), else 3.
    progress(files_done, files_total) is called after each file; setting ``cancel``
    stops the import with :class:`ImportCancelled`. ``ds.meta["files"]`` names each image's
    file as ``"class/file"`` (the order of ``x``), ``ds.meta["import_report"]`` is the report.
    """
    root = Path(root)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    found = _class_files(root)
    report = ImportReport()
    images, labels, grays, names = [], [], [], []
    mode = {1: "L", 3: "RGB", None: "RGB"}[channels]
    total, done = sum(len(v) for v in found.values()), 0
    for label, (cls, files) in enumerate(found.items()):
        report.counts[cls] = 0
        for f in files:
            if cancel is not None and cancel.is_set():
                raise ImportCancelled(root, f"import cancelled after {done} of {total} files")
            if progress is not None:
                progress(done, total)
            done += 1
            if not _is_image_name(f):
                report.skipped.append((str(f), "not a PNG, JPEG or BMP file"))
                continue
            try:
                arr, gray = _decode(f, size, mode)
            except ValueError as exc:
                report.skipped.append((str(f), f"unreadable image: {exc}"))
                continue
            if size is None:
                size = arr.shape[:2]
            images.append(arr)
            labels.append(label)
            names.append(f"{cls}/{f.name}")
            grays.append(gray)
            report.counts[cls] += 1
    if not images:
        raise DataFormatError(root, f"no readable images ({len(report.skipped)} files skipped, e.g. "
                              f"{report.skipped[0][0]}: {report.skipped[0][1]}); {LAYOUT}")
    x = np.stack(images)
    if channels is None and all(grays):
        x = np.ascontiguousarray(x[..., :1])
    ds = Dataset(name or root.name, x, np.array(labels, np.int64), list(found), str(root))
    ds.meta["import_report"] = report
    ds.meta["files"] = names  # "class/file" per image: a project records its validation files by name
    return ds, report
