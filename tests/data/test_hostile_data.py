"""Issue 14, the data side: memory bombs and forged headers in datasets and images.

Each case asserts the error type (the data package's own), that the message names the file,
and, in a fresh Python under an address-space limit (RLIMIT_AS), that the reader's peak
stays within the bound docs/data.md states: refusals within READ_SLACK_BYTES, accepted
files within their arrays plus READ_SLACK_BYTES. Without the limits the same files cost
2-6 GB, which the 1 GiB address space turns into MemoryError (a different message).
"""

import gzip
import os
import threading

import numpy as np
import pytest
from bombs import (
    forged_zip64_directory,
    gzip_zeros,
    npy_header,
    png_with_idat_length,
    run_limited,
    zip_members,
)
from datahelpers import idx_bytes, make_images

from cnnstudio.data import DataError, DataFormatError, load_csv, load_dataset, load_idx, load_npz, limits
from cnnstudio.data import read_image_folder

MiB = 1 << 20
SLACK = limits.READ_SLACK_BYTES


def _refused(path, expr: str, *fragments: str, limit: int = 1 << 30) -> dict:
    out = run_limited(expr.format(p=str(path)), limit)
    assert "error" in out, f"accepted: {out}"
    assert "DataError" in out["mro"], out
    assert str(path) in out["message"], out["message"]
    for frag in fragments:
        assert frag in out["message"], out["message"]
    assert out["grew_bytes"] < SLACK, f"peak grew {out['grew_bytes']:,} bytes before the refusal"
    return out


# ---- case 4: npz -----------------------------------------------------------------------------
def _blank_npz(path, n=4_100_000):
    head = npy_header((n, 28, 28))
    zeros = -(-n * 784 // MiB) * MiB
    data = gzip_zeros(head, zeros)[10:-8]  # the raw deflate stream
    y = npy_header((n,), "|u1")
    path.write_bytes(zip_members([("x.npy", data, len(head) + n * 784, 8),
                                  ("y.npy", gzip_zeros(y, -(-n // MiB) * MiB)[10:-8], len(y) + n, 8)]))
    return path


def test_npz_of_millions_of_blank_images_is_refused_by_its_ratio(tmp_path):
    f = _blank_npz(tmp_path / "blank.npz")
    assert f.stat().st_size < 4 * MiB  # 3.2 GB of pixels in a 3 MB file
    _refused(f, "cnnstudio.data.load_npz({p!r})", "x.npy", f"{limits.MAX_COMPRESSION_RATIO} times")
    with pytest.raises(DataFormatError):
        load_npz(f)


def test_npz_member_whose_header_claims_more_than_the_member_holds(tmp_path):
    head = npy_header((4_100_000, 28, 28))
    stored = head + bytes(1000)
    f = tmp_path / "forged.npz"
    f.write_bytes(zip_members([("x.npy", stored, len(stored), 0)]))
    _refused(f, "cnnstudio.data.load_npz({p!r})", "header claims shape (4100000, 28, 28)")


def test_npz_header_that_never_closes_is_a_data_error(tmp_path):
    head = b"\x93NUMPY\x01\x00" + (60).to_bytes(2, "little") + b"{'descr': '|u1', 'shape': (3, 4" + b" " * 29
    f = tmp_path / "open.npz"
    f.write_bytes(zip_members([("x.npy", head, len(head), 0)]))
    with pytest.raises(DataFormatError, match="unreadable header") as e:
        load_npz(f)
    assert str(f) in str(e.value)


def test_npz_read_peak_is_its_arrays_plus_slack(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (40_000, 28, 28), dtype=np.uint8)  # 31 MB
    f = tmp_path / "big.npz"
    np.savez(f, x=x, y=np.zeros(len(x), np.int64))
    out = run_limited(f"cnnstudio.data.load_npz({str(f)!r})")
    assert "result" in out, out
    assert out["grew_bytes"] < x.nbytes + len(x) * 8 + SLACK, out  # one copy, written in place


def test_zip_directory_with_absurd_entry_count_is_refused_before_parsing(tmp_path):
    f = tmp_path / "dir.npz"
    f.write_bytes(forged_zip64_directory(2_000_000))
    _refused(f, "cnnstudio.data.load_npz({p!r})", "lists 2,000,000 entries")
    import zipfile
    g = tmp_path / "many.npz"
    with zipfile.ZipFile(g, "w") as zf:  # a real directory of many entries
        for i in range(limits.MAX_NPZ_MEMBERS + 1):
            zf.writestr(f"a{i}.npy", b"")
    with pytest.raises(DataFormatError, match=f"lists {limits.MAX_NPZ_MEMBERS + 1} entries"):
        load_npz(g)


# ---- case 4: IDX ---------------------------------------------------------------------------
def test_idx_gzip_of_millions_of_blank_images_is_refused_from_its_header(tmp_path):
    n = 4_000_000
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip_zeros(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28)),
                                  3004 * MiB))
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip_zeros(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big"), 4 * MiB))
    assert images.stat().st_size < 4 * MiB
    _refused(images, "cnnstudio.data.load_idx({p!r}, %r)" % str(labels), "memory bomb", "can hold at most")


def test_idx_labels_header_disagreeing_with_images_is_refused_before_reading(tmp_path):
    x, _ = make_images(n=20)
    images = tmp_path / "i-idx3-ubyte"
    images.write_bytes(idx_bytes(x))
    labels = tmp_path / "l-idx1-ubyte.gz"
    labels.write_bytes(gzip_zeros(bytes([0, 0, 8, 1]) + (3_200_000_000).to_bytes(4, "big"), 64 * MiB))
    out = _refused(labels, "cnnstudio.data.load_idx(%r, {p!r})" % str(images), "3,200,000,000 labels",
                   "has 20 images")
    assert out["error"] == "DataFormatError"


def test_idx_of_zero_sized_images_is_refused(tmp_path):
    images, labels = tmp_path / "z-images-idx3-ubyte", tmp_path / "z-labels-idx1-ubyte"
    images.write_bytes(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (20, 0, 0)))
    labels.write_bytes(idx_bytes(np.zeros(20, np.uint8)))
    with pytest.raises(DataFormatError, match="zero-sized") as e:
        load_idx(images, labels)
    assert str(images) in str(e.value)
    with pytest.raises(DataFormatError, match="zero-sized"):
        load_dataset(images)  # the labels file guessed from MNIST naming


# ---- case 4: CSV -----------------------------------------------------------------------------
def test_csv_peak_is_a_fraction_of_the_file(tmp_path):
    row = b"7," + b"0," * 783 + b"0\n"
    f = tmp_path / "zeros.csv"
    f.write_bytes(row * 16_000)  # 25 MB; the old parser peaked at ~13x the file size
    size = f.stat().st_size
    out = run_limited(f"cnnstudio.data.load_csv({str(f)!r})")
    assert "result" in out and "16000 images 28x28x1" in out["result"], out
    assert out["grew_bytes"] < size // 2 + 16_000 * 8 + SLACK, out


def test_csv_single_enormous_row_is_refused_at_the_row_cap(tmp_path):
    f = tmp_path / "row.csv"
    f.write_bytes(b"1," + b"0," * (15 * MiB) + b"0\n")  # 30 MB in one row (10000x10000 in the issue)
    _refused(f, "cnnstudio.data.load_csv({p!r})", "line 1 is longer than")


def test_csv_row_of_too_many_pixels_is_refused(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_bytes(b"1," + b"0," * limits.MAX_IMAGE_VALUES + b"0\n")
    with pytest.raises(DataFormatError, match="pixel values, more than") as e:
        load_csv(f)
    assert str(f) in str(e.value)


# ---- case 5: images ----------------------------------------------------------------------------
def test_png_whose_idat_claims_4_gb_is_skipped_by_name_under_3_gib(tmp_path):
    (tmp_path / "a").mkdir()
    from PIL import Image
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a" / "good.png")
    bomb = tmp_path / "a" / "bomb.png"
    bomb.write_bytes(png_with_idat_length(4_294_904_865))
    ds, report = read_image_folder(tmp_path)
    assert len(ds) == 1 and report.skipped[0][0] == str(bomb)
    assert "4,294,904,865" in report.skipped[0][1]
    out = run_limited(f"cnnstudio.data.read_image_folder({str(tmp_path)!r})", 3 << 30)
    assert "result" in out and out["grew_bytes"] < SLACK, out
    out = run_limited(f"cnnstudio.project.session.load_image_file({str(bomb)!r}, (28, 28, 1))", 3 << 30)
    assert "DataError" in out["mro"] and str(bomb) in out["message"] and "IDAT" in out["message"], out


def test_small_image_file_declaring_megapixels_is_refused_before_decoding(tmp_path):
    from cnnstudio.project import session
    (tmp_path / "a").mkdir()
    forged = tmp_path / "a" / "forged.png"
    forged.write_bytes(png_with_idat_length(len(zlib_idat()), side=6000))  # 36 MP in ~100 bytes
    from PIL import Image
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a" / "good.png")
    ds, report = read_image_folder(tmp_path)
    assert len(ds) == 1 and report.skipped[0][0] == str(forged)
    assert "declares 6000x6000 pixels" in report.skipped[0][1]
    with pytest.raises(DataFormatError, match="declares 6000x6000 pixels") as e:
        session.load_image_file(forged, (28, 28, 1))
    assert str(forged) in str(e.value)
    blank = tmp_path / "blank.png"  # an honest blank image of 9 megapixels compresses ~1000:1: read
    Image.fromarray(np.zeros((3000, 3000), np.uint8)).save(blank)
    assert session.load_image_file(blank, (28, 28, 1))[0].shape == (28, 28, 1)


def zlib_idat() -> bytes:
    import zlib
    return zlib.compress(b"\0" * (29 * 28))


# ---- formats told from content -----------------------------------------------------------------
def _cifar_tar(path, folder="cifar-10-batches-bin", names=None):
    import io
    import tarfile
    rng = np.random.default_rng(0)
    names = names or [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(folder)
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name in names:
            recs = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
            recs[:, 0] %= 10
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = recs.nbytes
            tar.addfile(info, io.BytesIO(recs.tobytes()))
    return path


def test_cifar10_binary_archive_is_read_by_path(tmp_path):
    train, test = load_dataset(_cifar_tar(tmp_path / "cifar-10-binary.tar.gz"))
    assert train.x.shape == (10, 32, 32, 3) and test.x.shape == (2, 32, 32, 3)
    assert train.class_names[0] == "airplane"


def test_cifar_python_version_is_refused_saying_why_and_what_to_get(tmp_path):
    f = _cifar_tar(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                   ["data_batch_1", "batches.meta"])
    with pytest.raises(DataFormatError, match="pickled.*cifar-10-binary.tar.gz") as e:
        load_dataset(f)
    assert str(f) in str(e.value) and "\n" not in str(e.value)


def test_formats_are_told_from_content_not_name(tmp_path):
    x, y = make_images(n=6)
    idx = tmp_path / "digits.data"  # no idx/ubyte in the name
    idx.write_bytes(gzip.compress(idx_bytes(x)))
    with pytest.raises(DataFormatError, match="--labels"):
        load_dataset(idx)
    npz = tmp_path / "digits.bin"
    np.savez(npz.with_suffix(".npz"), x=x, y=y)
    os.replace(npz.with_suffix(".npz"), npz)
    assert np.array_equal(load_dataset(npz).y, y)
    from PIL import Image
    png = tmp_path / "one.npz"  # a PNG with a misleading name
    Image.fromarray(x[0]).save(png, format="PNG")
    with pytest.raises(DataFormatError, match="single PNG image.*predict"):
        load_dataset(png)
    labels = tmp_path / "labels.gz"
    labels.write_bytes(gzip.compress(idx_bytes(y)))
    with pytest.raises(DataFormatError, match="IDX labels file.*--labels"):
        load_dataset(labels)
    text = tmp_path / "bmi.data"  # a CSV whose header starts like a BMP signature
    text.write_text("BMI,p0,p1,p2,p3\n1,0,0,0,0\n0,9,9,9,9\n")
    assert load_dataset(text).image_shape == (2, 2, 1)
    npy = tmp_path / "x.npy"
    np.save(npy, x)
    with pytest.raises(DataFormatError, match=r"single .npy array.*savez"):
        load_dataset(npy)


# ---- case 9: paths that are not files or folders -------------------------------------------------
def _finishes(fn, timeout=10.0):
    """Run ``fn`` in a thread; return what it raised (failing if it blocks)."""
    box = {}

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["exc"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the loader blocked"
    return box.get("exc")


def test_fifo_device_and_root_are_refused_without_opening(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    exc = _finishes(lambda: load_dataset(fifo))
    assert isinstance(exc, DataError) and "named pipe (FIFO)" in str(exc) and str(fifo) in str(exc)
    exc = _finishes(lambda: load_dataset("/dev/null"))
    assert isinstance(exc, DataError) and "character device" in str(exc)
    exc = _finishes(lambda: load_dataset("/"))
    assert isinstance(exc, DataError) and "root of the file system" in str(exc)
    exc = _finishes(lambda: read_image_folder("/"))  # the app's import dialog calls it directly
    assert isinstance(exc, DataError) and "root of the file system" in str(exc)
    link = tmp_path / "stdin.csv"
    link.symlink_to(fifo)
    exc = _finishes(lambda: load_dataset(link))
    assert isinstance(exc, DataError) and "FIFO" in str(exc)
    # a FIFO as the labels file of an IDX images file
    x, _ = make_images()
    images = tmp_path / "i-idx3-ubyte"
    images.write_bytes(idx_bytes(x))
    exc = _finishes(lambda: load_dataset(images, fifo))
    assert isinstance(exc, DataError) and "labels file" in str(exc) and "FIFO" in str(exc)
