"""Property-based tests: mutated IDX, npz, CSV, CIFAR and image files fed to every reader.

Each reader must either return a valid Dataset or raise DataError: never another
exception, and never a large allocation (checked with tracemalloc, which sees numpy's
buffers).
"""

import gzip
import io
import os
import tarfile
import tempfile
import tracemalloc

import numpy as np
from datahelpers import csv_text, idx_bytes, make_images, npz_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnstudio.data import (
    DataError,
    Dataset,
    load_csv,
    load_idx,
    load_npz,
    read_cifar10_tar,
    read_image_folder,
)

X, Y = make_images(n=5, h=6, w=6)
IDX_IMAGES = idx_bytes(X)
IDX_LABELS = idx_bytes(Y)
NPZ = npz_bytes(x=X, y=Y.astype(np.int64))
CSV = csv_text(X, Y).encode()
MAX_PEAK = 32 << 20  # the inputs are < 10 kB; anything near this is a header trusted blindly

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, data: bytes):
    """Truncate, flip bits, overwrite the header, or append garbage (one or more)."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "header", "append", "splice"]))
        if kind == "truncate" and b:
            del b[draw(st.integers(0, len(b) - 1)):]
        elif kind == "flip" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "header" and b:
            i = draw(st.integers(0, min(len(b), 48) - 1))
            chunk = draw(st.binary(min_size=1, max_size=4))
            b[i:i + len(chunk)] = chunk
        elif kind == "append":
            b += draw(st.binary(min_size=1, max_size=64))
        elif kind == "splice" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i:i] = draw(st.binary(min_size=1, max_size=16))
    return bytes(b)


def _check(read, files: dict[str, bytes]):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, blob in files.items():
            p = os.path.join(d, name)
            with open(p, "wb") as fh:
                fh.write(blob)
            paths.append(p)
        tracemalloc.start()
        try:
            result = read(*paths)
        except DataError as exc:
            assert exc.path is None or os.path.dirname(exc.path) == d or d in str(exc)
            result = None
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peak < MAX_PEAK, f"reader allocated {peak:,} bytes for a tiny file"
    if result is not None:
        ds = result[0] if isinstance(result, tuple) else result
        assert isinstance(ds, Dataset) and ds.x.dtype == np.uint8 and ds.x.ndim == 4
        assert len(ds.y) == len(ds.x)


@SETTINGS
@given(mutated(IDX_IMAGES), st.booleans())
def test_idx_images_mutations(blob, gz):
    _check(load_idx, {"i-idx3-ubyte": gzip.compress(blob) if gz else blob, "l-idx1-ubyte": IDX_LABELS})


@SETTINGS
@given(mutated(IDX_LABELS))
def test_idx_labels_mutations(blob):
    _check(load_idx, {"i-idx3-ubyte": IDX_IMAGES, "l-idx1-ubyte": blob})


@SETTINGS
@given(mutated(gzip.compress(IDX_IMAGES)))
def test_idx_gzip_stream_mutations(blob):
    _check(load_idx, {"i-idx3-ubyte.gz": blob, "l-idx1-ubyte": IDX_LABELS})


@SETTINGS
@given(mutated(NPZ))
def test_npz_mutations(blob):
    _check(load_npz, {"d.npz": blob})


def _npz_stored() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=X, y=Y.astype(np.int64))  # stored, not deflated: header bytes are plain
    return buf.getvalue()


@SETTINGS
@given(mutated(_npz_stored()))
def test_npz_uncompressed_mutations(blob):
    _check(load_npz, {"d.npz": blob})


@SETTINGS
@given(mutated(CSV))
def test_csv_mutations(blob):
    _check(load_csv, {"d.csv": blob})


def _cifar_tar() -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            recs = rng.integers(0, 256, (1, 3073), dtype=np.uint8)
            recs[:, 0] %= 10
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = recs.nbytes
            tar.addfile(info, io.BytesIO(recs.tobytes()))
    return buf.getvalue()


@SETTINGS
@given(mutated(_cifar_tar()))
def test_cifar_tar_mutations(blob):
    _check(read_cifar10_tar, {"c.tar": blob})


def _png() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(X[0]).save(buf, format="PNG")
    return buf.getvalue()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(mutated(_png()))
def test_image_folder_mutations(blob):
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "a"))
        with open(os.path.join(d, "a", "good.png"), "wb") as fh:
            fh.write(_png())
        with open(os.path.join(d, "a", "fuzz.png"), "wb") as fh:
            fh.write(blob)
        ds, report = read_image_folder(d)
        # The good file is always imported; the mutated one is imported or reported.
        assert len(ds) + len(report.skipped) == 2 and len(ds) >= 1
