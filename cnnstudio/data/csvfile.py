"""CSV reader for the common "label, pixel0 ... pixelN" layout (Kaggle's MNIST).

One image per row, label first, pixels 0..255 row-major (H, W, C). A header row
is detected (first row not all numbers) and skipped. The shape is inferred
(784 -> 28x28x1; N = 3*s*s -> s x s x 3 when N is not a square) or given.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import NOT_FOUND, DataFormatError

MAX_CSV_BYTES = 2 << 30


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


def _parse_rows(path: Path, text: str) -> np.ndarray:
    """Text -> int64 (rows, cols); header skipped; ragged or non-numeric rows refused."""
    body = text.lstrip()
    first_line = text[:len(text) - len(body)].count("\n") + 1  # file line number of ``body``'s start
    first, _, rest = body.partition("\n")
    if not first.strip():
        raise DataFormatError(path, "empty CSV file; expected rows of 'label, pixel0, ..., pixelN'")
    if not all(_is_number(c) for c in first.split(",")):
        body, first_line = rest, first_line + 1  # header row
        if not body.strip():
            raise DataFormatError(path, "CSV has a header but no data rows")
    try:
        # numpy's C parser: fast on Kaggle-size files, raises ValueError on ragged rows.
        table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise DataFormatError(path, _first_bad_row(body, first_line)) from None
    if table.shape[1] < 2 or table.shape[0] == 0:
        raise DataFormatError(path, "rows need a label followed by pixel values")
    if not np.isfinite(table).all() or not np.array_equal(table, np.rint(table)):
        raise DataFormatError(path, "labels and pixels must be whole numbers")
    return table.astype(np.int64)


def _first_bad_row(body: str, first_line: int) -> str:
    """Say which line breaks the table (numpy's own message numbers rows inconsistently and
    advises ``usecols``, which means nothing to someone running the CLI)."""
    expected = None
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


def _is_number(s: str) -> bool:
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
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DataFormatError(path, f"{size:,} bytes is too large for a CSV image file; use IDX or .npz")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except UnicodeDecodeError:
        raise DataFormatError(path, "not a text file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc})") from None
    table = _parse_rows(path, text)
    labels, pixels = table[:, 0], table[:, 1:]
    h, w, c = shape or infer_shape(path, pixels.shape[1])
    if h * w * c != pixels.shape[1]:
        raise DataFormatError(path, f"rows have {pixels.shape[1]} pixels but shape {h}x{w}x{c} "
                              f"needs {h * w * c}")
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        raise DataFormatError(path, f"pixel values must be 0..255, got {pixels.min()}..{pixels.max()}")
    if labels.min() < 0:
        raise DataFormatError(path, f"labels must be >= 0, got {labels.min()}")
    k = int(labels.max()) + 1
    if class_names is None:
        if k > 100_000:
            raise DataFormatError(path, f"label {k - 1} is implausibly large for a class index")
        class_names = [str(i) for i in range(max(k, 2))]
    elif k > len(class_names):
        raise DataFormatError(path, f"label {k - 1} is out of range for {len(class_names)} classes")
    x = pixels.astype(np.uint8).reshape(-1, h, w, c)
    return Dataset(name or path.stem, x, labels, class_names, str(path))
