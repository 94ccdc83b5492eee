"""CSV reader for the common "label, pixel0 ... pixelN" layout (Kaggle's MNIST).

One image per row, label first, pixels 0..255 row-major (H, W, C). A header row
is detected (first row not all numbers) and skipped. The shape is inferred
(784 -> 28x28x1; N = 3*s*s -> s x s x 3 when N is not a square) or given.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnnstudio.data import limits
from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import NOT_FOUND, DataFormatError

MAX_CSV_BYTES = limits.MAX_CSV_BYTES  # kept for callers; the limits live in data.limits


def infer_shape(path: Path, n_pixels: int) -> tuple[int, int, int]:
    """(H, W, C) for ``n_pixels`` values per row; square grayscale, else square colour."""
    s = math.isqrt(n_pixels)
    if s * s == n_pixels and s > 0:
        return (s, s, 1)
    if n_pixels % 3 == 0:
        s = math.isqrt(n_pixels // 3)
        if s * s * 3 == n_pixels and s > 0:
            return (s, s, 3)
    hint = "pass the image shape explicitly"
    if math.isqrt(n_pixels + 1) ** 2 == n_pixels + 1:
        hint = ("the rows look like images without a label column (like Kaggle's test.csv); "
                "each row must start with its label")
    raise DataFormatError(path, f"rows have {n_pixels} pixel values after the label, which is not a "
                          f"square image (e.g. 784 = 28x28); {hint}")


def _read_table(path: Path, fh: BinaryIO, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Stream "label, pixel..." rows -> (labels int64 (N,), pixels uint8 (N, P)).

    Rows are read one at a time with a length cap and parsed a batch at a time by numpy's C
    parser straight into arrays preallocated from the file size (a row of P pixels takes at
    least 2 (P + 1) bytes): no Python object per cell, no second copy of the table.
    """
    number, header_seen = 0, False
    while True:  # skip blank lines and one header row (the first line that is not all numbers)
        line = _next_line(path, fh, number + 1)
        if line is None:
            raise DataFormatError(path, "CSV has a header but no data rows" if header_seen else
                                  "empty CSV file; expected rows of 'label, pixel0, ..., pixelN'")
        number += 1
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip():
            continue
        if _number_row(line):
            first = line
            break
        if header_seen:
            raise DataFormatError(path, _first_bad_row(_text(path, line), number, None))
        header_seen = True
    cols = first.count(b",") + 1
    if cols < 2:
        raise DataFormatError(path, "rows need a label followed by pixel values")
    if cols - 1 > limits.MAX_IMAGE_VALUES:
        raise DataFormatError(path, f"line {number} has {cols - 1:,} pixel values, more than the "
                              f"{limits.MAX_IMAGE_VALUES:,} one image may have")
    rows_max = min((size + 1) // (2 * cols) + 1, limits.MAX_IMAGES)
    labels = np.empty(rows_max, np.int64)
    pixels = np.empty((rows_max, cols - 1), np.uint8)
    n = 0
    batch: list[str] = [_text(path, first)]
    batch_start, batch_bytes = number, len(first)
    while True:
        line = _next_line(path, fh, number + 1)
        if line is not None:
            number += 1
            batch.append(_text(path, line))
            batch_bytes += len(line)
        if batch and (line is None or batch_bytes >= limits.CSV_BATCH_BYTES):
            n = _parse_batch(path, batch, batch_start, cols, labels, pixels, n)
            batch, batch_start, batch_bytes = [], number + 1, 0
        if line is None:
            break
    if n == 0:
        raise DataFormatError(path, "CSV has a header but no data rows")
    # give back the rows the file-size estimate reserved but the file did not fill (in place)
    labels.resize((n,), refcheck=False)
    pixels.resize((n, cols - 1), refcheck=False)
    return labels, pixels


def _number_row(line: bytes) -> bool:
    return all(_is_number(c) for c in line.split(b","))


def _next_line(path: Path, fh: BinaryIO, number: int) -> bytes | None:
    """The next line (without its newline), or None at the end; a row over the cap is refused."""
    line = fh.readline(limits.MAX_CSV_ROW_BYTES + 1)
    if not line:
        return None
    if len(line) > limits.MAX_CSV_ROW_BYTES:
        raise DataFormatError(path, f"line {number} is longer than {limits.MAX_CSV_ROW_BYTES:,} characters, "
                              f"more than a row of {limits.MAX_IMAGE_VALUES:,} pixels needs; not an image CSV")
    return line.rstrip(b"\r\n")


def _text(path: Path, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(path, "not a text file (cannot decode as UTF-8)") from None


def _parse_batch(path: Path, batch: list[str], first_line: int, cols: int, labels: np.ndarray,
                 pixels: np.ndarray, n: int) -> int:
    """Parse ``batch`` rows into ``labels[n:]``/``pixels[n:]``; return the new row count."""
    try:
        # numpy's C parser: blank lines skipped, ValueError on ragged or non-numeric rows
        table = np.loadtxt(batch, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise DataFormatError(path, _first_bad_row("\n".join(batch), first_line, cols)) from None
    if table.shape[0] == 0:
        return n
    if table.shape[1] != cols:
        raise DataFormatError(path, _first_bad_row("\n".join(batch), first_line, cols))
    if n + table.shape[0] > labels.shape[0]:  # cannot happen: each row takes >= 2 cols bytes
        raise DataFormatError(path, "more rows than the file size allows; the file changed while read")
    if not np.isfinite(table).all() or not np.array_equal(table, np.rint(table)):
        raise DataFormatError(path, "labels and pixels must be whole numbers")
    lab, pix = table[:, 0], table[:, 1:]
    if pix.size and (pix.min() < 0 or pix.max() > 255):
        raise DataFormatError(path, f"pixel values must be 0..255, got {pix.min():g}..{pix.max():g}")
    if lab.min() < 0:
        raise DataFormatError(path, f"labels must be >= 0, got {lab.min():g}")
    if lab.max() >= limits.MAX_CLASSES:
        raise DataFormatError(path, f"label {lab.max():g} is implausibly large for a class index")
    end = n + table.shape[0]
    labels[n:end] = lab
    pixels[n:end] = pix
    return end


def _first_bad_row(body: str, first_line: int, expected: int | None) -> str:
    """Say which line breaks the table (numpy's own message numbers rows inconsistently and
    advises ``usecols``, which means nothing to someone running the CLI)."""
    for number, line in enumerate(body.split("\n"), start=first_line):
        if not line.strip():
            continue
        cells = line.split(",")
        other = next((sep for sep in (";", "\t") if len(cells) == 1 and sep in line), None)
        if other is not None:
            return (f"line {number} separates its values with {other!r}; this reader expects commas "
                    "(label,pixel0,...); save the file as comma-separated")
        expected = expected or len(cells)
        if len(cells) != expected:
            return (f"line {number} has {len(cells)} values but the rows before it have {expected}; "
                    "every row must be a label followed by the same number of pixels")
        bad = next((i for i, c in enumerate(cells) if not _is_number(c)), None)
        if bad is not None:
            return (f"line {number}, column {bad + 1}: {cells[bad].strip()[:20]!r} is not a number; "
                    "every value must be a whole number (label, then pixels 0..255)")
    return "rows must all be numbers with the same count"


def _is_number(s: str | bytes) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def load_csv(path, shape: tuple[int, int, int] | None = None, name: str | None = None,
             class_names: list[str] | None = None) -> Dataset:
    """Read "label, pixel..." rows -> Dataset x uint8 (N, H, W, C)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.MAX_CSV_BYTES:
                raise DataFormatError(path, f"{size:,} bytes is too large for a CSV image file (at most "
                                      f"{limits.MAX_CSV_BYTES:,}); use IDX or .npz")
            labels, pixels = _read_table(path, fh, size)
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except MemoryError:
        raise DataFormatError(path, "not enough memory to read it; use a smaller dataset") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    h, w, c = shape or infer_shape(path, pixels.shape[1])
    if h * w * c != pixels.shape[1]:
        raise DataFormatError(path, f"rows have {pixels.shape[1]} pixels but shape {h}x{w}x{c} "
                              f"needs {h * w * c}")
    k = int(labels.max()) + 1
    if class_names is None:
        class_names = [str(i) for i in range(max(k, 2))]
    elif k > len(class_names):
        raise DataFormatError(path, f"label {k - 1} is out of range for {len(class_names)} classes")
    x = pixels.reshape(-1, h, w, c)
    return Dataset(name or path.stem, x, labels, class_names, str(path))
