"""Property-based tests: mutated IDX, npz, .npy headers, CSV, CIFAR and image files fed to
every reader, and to load_dataset, which tells the format from the content.

Each reader must either return a valid Dataset or raise DataError: never another
exception, and never a large allocation (checked with tracemalloc, which sees numpy's
buffers). The example budget is small for the suite; a release runs it longer by hand:
``CNNSTUDIO_FUZZ_EXAMPLES=2000 CNNSTUDIO_FUZZ_REPORT=fuzz.jsonl pytest tests/data/test_fuzz_readers.py``
(docs/reliability.md records the figures).
"""

import gzip
import io
import json
import os
import tarfile
import tempfile
import time
import tracemalloc

import numpy as np
from datahelpers import csv_text, idx_bytes, make_images, npz_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnstudio.data import (
    DataError,
    Dataset,
    load_csv,
    load_dataset,
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

#: examples per loader: small in the suite, >= 2000 for a release run (see the module docstring)
EXAMPLES = int(os.environ.get("CNNSTUDIO_FUZZ_EXAMPLES", "0")) or None
REPORT = os.environ.get("CNNSTUDIO_FUZZ_REPORT")


def budget(n: int):
    return settings(max_examples=EXAMPLES or n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


SETTINGS = budget(120)
SMALL = budget(40)


def _record(outcome: str, peak: int, seconds: float) -> None:
    """One line per input for a release run's figures (which loader, accepted or refused, peak)."""
    if REPORT:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0].split("[")[0]
        with open(REPORT, "a") as fh:
            fh.write(json.dumps({"test": test, "outcome": outcome, "peak": peak, "s": round(seconds, 4)}) + "\n")


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
        t0 = time.perf_counter()
        try:
            result = read(*paths)
        except DataError as exc:
            assert exc.path is None or os.path.dirname(exc.path) == d or d in str(exc)
            assert "\n" not in str(exc), str(exc)
            result = None
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            seconds = time.perf_counter() - t0
    _record("refused" if result is None else "accepted", peak, seconds)
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


@budget(60)
@given(mutated(_png()))
def test_image_folder_mutations(blob):
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "a"))
        with open(os.path.join(d, "a", "good.png"), "wb") as fh:
            fh.write(_png())
        with open(os.path.join(d, "a", "fuzz.png"), "wb") as fh:
            fh.write(blob)
        t0 = time.perf_counter()
        ds, report = read_image_folder(d)
        _record("refused" if report.skipped else "accepted", 0, time.perf_counter() - t0)
        # The good file is always imported; the mutated one is imported or reported.
        assert len(ds) + len(report.skipped) == 2 and len(ds) >= 1


# ---- added for issue 14: .npy headers, IDX pairs, CSV structure, JPEG/BMP, predict, sniffing ----
def _npz_with_header(text: bytes) -> bytes:
    """A stored .npz whose x.npy has ``text`` as its header (data of the real X after it)."""
    import zipfile
    head = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.npy", head + X.tobytes())
        zf.writestr("y.npy", _npy(Y.astype(np.int64)))
    return buf.getvalue()


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


_GOOD_HEADER = _npy(X)[10:10 + int.from_bytes(_npy(X)[8:10], "little")]


@SETTINGS
@given(mutated(_GOOD_HEADER))
def test_npy_header_mutations(text):
    _check(load_npz, {"d.npz": _npz_with_header(text)})


@SMALL
@given(st.fixed_dictionaries({
    "descr": st.sampled_from(["|u1", "<f4", "<i8", "|O", "<U3", "|b1", "<c8", "V8", "x", "<u2"]),
    "fortran_order": st.sampled_from([False, True, 0, "no"]),
    "shape": st.one_of(st.tuples(*[st.integers(-2, 10**12)] * 3),
                       st.lists(st.integers(0, 40), max_size=9).map(tuple), st.just("(5,6,6)")),
}), st.booleans())
def test_npy_header_fields(fields, extra_key):
    if extra_key:
        fields = dict(fields, extra=1)
    text = repr(fields).encode("latin1")
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    _check(load_npz, {"d.npz": _npz_with_header(text)})


@SETTINGS
@given(mutated(IDX_IMAGES), mutated(IDX_LABELS), st.booleans())
def test_idx_pair_mutations(images, labels, gz):
    pack = gzip.compress if gz else (lambda b: b)
    _check(load_idx, {"i-idx3-ubyte": pack(images), "l-idx1-ubyte": pack(labels)})


_CELL = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(["", " ", "x", "1.5", "nan", "1e3", "255.0",
                                                                   "\t4", "3;4", '"7"', "0x1"]))


@SETTINGS
@given(st.lists(st.lists(_CELL, min_size=1, max_size=40), max_size=12), st.booleans(),
       st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_csv_structure(rows, header, newline):
    lines = [",".join(r) for r in rows]
    if header:
        lines.insert(0, "label," + ",".join(f"p{i}" for i in range(36)))
    _check(load_csv, {"d.csv": newline.join(lines).encode()})


def _image_bytes(fmt: str) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(X[0]).save(buf, format=fmt)
    return buf.getvalue()


def _check_image(blob: bytes, name: str):
    """The folder import and predict's reader on one mutated image file."""
    from cnnstudio.project import session
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "a"))
        with open(os.path.join(d, "a", "good.png"), "wb") as fh:
            fh.write(_png())
        bad = os.path.join(d, "a", name)
        with open(bad, "wb") as fh:
            fh.write(blob)
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            ds, report = read_image_folder(d)
            assert len(ds) + len(report.skipped) == 2 and len(ds) >= 1
            try:
                arr, _ = session.load_image_file(bad, (28, 28, 1))
                assert arr.shape == (28, 28, 1) and arr.dtype == np.uint8
                outcome = "accepted"
            except DataError as exc:
                assert bad in str(exc) and "\n" not in str(exc)
                outcome = "refused"
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    _record(outcome, peak, time.perf_counter() - t0)
    assert peak < MAX_PEAK, f"image reader allocated {peak:,} bytes for a tiny file"


@SMALL
@given(mutated(_image_bytes("JPEG")))
def test_jpeg_mutations(blob):
    _check_image(blob, "fuzz.jpg")


@SMALL
@given(mutated(_image_bytes("BMP")))
def test_bmp_mutations(blob):
    _check_image(blob, "fuzz.bmp")


@SMALL
@given(mutated(_png()))
def test_predict_png_mutations(blob):
    _check_image(blob, "fuzz.png")


_SEEDS = {"idx": gzip.compress(IDX_IMAGES), "npz": NPZ, "csv": CSV, "cifar": _cifar_tar(), "png": None}


@SETTINGS
@given(st.sampled_from(sorted(_SEEDS)), st.data())
def test_load_dataset_sniffs_mutated_content(kind, data):
    seed = _SEEDS[kind] if kind != "png" else _png()
    blob = data.draw(mutated(seed))
    # a neutral name: the format must come from the content
    _check(lambda p: load_dataset(p), {"data.bin": blob})
