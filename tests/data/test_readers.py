"""IDX, npz, CSV and image-folder readers on good and corrupted files."""

import gzip

import numpy as np
import pytest
from datahelpers import csv_text, idx_bytes, make_images, npz_bytes, write_idx_pair

from cnnstudio.data import (
    DataError,
    DataFormatError,
    load_csv,
    load_dataset,
    load_idx,
    load_npz,
    read_idx_images,
    read_image_folder,
    scan_image_folder,
)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, gz):
    xi, yi, x, y = write_idx_pair(tmp_path, gz=gz)
    ds = load_idx(xi, yi)
    assert ds.x.shape == (6, 5, 4, 1) and np.array_equal(ds.x[..., 0], x)
    assert np.array_equal(ds.y, y) and ds.y.dtype == np.int64
    # load_dataset guesses the labels file from MNIST naming.
    assert np.array_equal(load_dataset(xi).y, y)


def test_idx_wrong_magic_names_file(tmp_path):
    xi, yi, *_ = write_idx_pair(tmp_path)
    with pytest.raises(DataFormatError, match="wrong magic number 0x00000801 for an IDX images file") as e:
        load_idx(yi, xi)  # images and labels swapped
    assert e.value.path == str(yi)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_and_trailing(tmp_path, gz):
    x, _ = make_images()
    good = idx_bytes(x)
    pack = gzip.compress if gz else (lambda b: b)
    f = tmp_path / "imgs-idx3-ubyte"
    f.write_bytes(pack(good[:-7]))
    with pytest.raises(DataFormatError, match="truncated|can hold at most") as e:
        read_idx_images(f)
    assert str(f) in str(e.value)
    f.write_bytes(pack(good + b"junk"))
    with pytest.raises(DataFormatError, match="trailing garbage"):
        read_idx_images(f)


def test_idx_header_claiming_huge_size_refused_without_allocating(tmp_path):
    head = bytes([0, 0, 8, 3]) + (60000).to_bytes(4, "big") + (65535).to_bytes(4, "big") * 2
    f = tmp_path / "huge.idx"
    f.write_bytes(head + b"\x00" * 100)
    with pytest.raises(DataFormatError, match="header claims 60000x65535x65535"):
        read_idx_images(f)
    g = tmp_path / "huge.idx.gz"
    g.write_bytes(gzip.compress(head + b"\x00" * 100))
    with pytest.raises(DataFormatError, match="can hold at most"):
        read_idx_images(g)


def test_idx_count_mismatch(tmp_path):
    xi, _, x, y = write_idx_pair(tmp_path)
    short = tmp_path / "short-labels-idx1-ubyte"
    short.write_bytes(idx_bytes(y[:4]))
    with pytest.raises(DataFormatError, match="has 4 labels but .* has 6 images"):
        load_idx(xi, short)


def test_idx_corrupt_gzip(tmp_path):
    xi, yi, *_ = write_idx_pair(tmp_path, gz=True)
    raw = bytearray(xi.read_bytes())
    raw[15:25] = b"\xff" * 10
    xi.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError):
        load_idx(xi, yi)


def test_npz_variants(tmp_path):
    x, y = make_images()
    f = tmp_path / "d.npz"
    f.write_bytes(npz_bytes(x=x, y=y))
    ds = load_npz(f)
    assert ds.x.shape == (6, 5, 4, 1) and np.array_equal(ds.y, y)
    f.write_bytes(npz_bytes(x=(x / 255.0).astype(np.float32)[..., None], y=y.astype(np.int32),
                            class_names=np.array(["a", "b", "c"])))
    ds = load_npz(f)
    assert np.array_equal(ds.x[..., 0], x) and ds.class_names == ["a", "b", "c"]


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((3, 4, 4), np.uint8), y=np.zeros(2, np.int64)), "2 labels for 3 images"),
    (dict(x=np.full((2, 4, 4), 1.5, np.float32), y=np.zeros(2, np.int64)), r"in \[0, 1\]"),
    (dict(x=np.zeros((2, 4, 4), np.uint8), y=np.array([0.5, 1.0])), "integer class labels"),
    (dict(x=np.zeros((2, 4, 4), np.uint8), y=np.array([0, -1])), "labels must be >= 0"),
    (dict(y=np.zeros(2, np.int64)), "no image array"),
    (dict(x=np.zeros((2, 4, 4, 5), np.uint8), y=np.zeros(2, np.int64)), "C = 1 or 3"),
])
def test_npz_refuses_inconsistent(tmp_path, arrays, message):
    f = tmp_path / "bad.npz"
    f.write_bytes(npz_bytes(**arrays))
    with pytest.raises(DataFormatError, match=message) as e:
        load_npz(f)
    assert str(f) in str(e.value)


def test_npz_object_array_refused(tmp_path):
    f = tmp_path / "obj.npz"
    with open(f, "wb") as fh:
        np.savez(fh, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2, np.int64))
    with pytest.raises(DataFormatError, match="Python objects"):
        load_npz(f)


def test_npz_forged_header_refused(tmp_path):
    """A .npy header claiming a huge shape is refused before numpy allocates it."""
    f = tmp_path / "forged.npz"
    raw = npz_bytes(x=np.zeros((2, 4, 4), np.uint8), y=np.zeros(2, np.int64))
    import zipfile, io
    src = zipfile.ZipFile(io.BytesIO(raw))
    with zipfile.ZipFile(f, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "x.npy":
                data = data.replace(b"(2, 4, 4)", b"(200000, 40000, 40)")
            out.writestr(info.filename, data)
    with pytest.raises(DataFormatError, match="header claims shape"):
        load_npz(f)


def test_csv_with_and_without_header(tmp_path):
    x, y = make_images(n=4, h=3, w=3)
    for header in (True, False):
        f = tmp_path / f"d{header}.csv"
        f.write_text(csv_text(x, y, header))
        ds = load_csv(f)
        assert ds.image_shape == (3, 3, 1) and np.array_equal(ds.x[..., 0], x)
        assert np.array_equal(load_dataset(f).y, y)
    rect = load_csv(f, shape=(1, 9, 1))
    assert rect.image_shape == (1, 9, 1)


@pytest.mark.parametrize("text, message", [
    ("", "empty CSV"),
    ("label,p0\n", "header but no data"),
    ("1,2,3,4,5\n0,1,2\n", "line 2 has 3 values but the rows before it have 5"),
    ("label,a,b,c,d\n1,2,3,4,5\n\n1,2,3,4,5\n0,1,2\n", "line 5 has 3 values"),  # header, blank line
    ("1,2,3,4,999\n", "0..255"),
    ("1,2,3,4,5,6\n", "not a square image.*shape explicitly"),
    ("1,2,3,4,5,6,7,8,9\n", "without a label column"),
    ("1,2,3,4,5\n1,2,x,4,5\n", "line 2, column 3: 'x' is not a number"),
    ("1;2;3;4;5\n1;2;3;4;5\n", "separates its values with ';'.*expects commas"),
    ("label\tp0\n1\t2\n", "line 2 separates its values with .*expects commas"),  # tabs
])
def test_csv_refuses_bad(tmp_path, text, message):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(DataFormatError, match=message) as e:
        load_csv(f)
    assert str(f) in str(e.value) and "usecols" not in str(e.value)


def _write_png(path, arr, mode):
    from PIL import Image
    Image.fromarray(arr).save(path)


def test_image_folder_imports_and_reports_unreadable(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("dog", "cat"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            _write_png(tmp_path / cls / f"{i}.png", rng.integers(0, 256, (8, 10), dtype=np.uint8), "L")
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "cat" / "notes.txt").write_text("hello")
    ds, report = read_image_folder(tmp_path)
    assert ds.class_names == ["cat", "dog"]
    assert ds.image_shape == (8, 10, 1)  # all grayscale -> 1 channel
    assert report.counts == {"cat": 3, "dog": 3}
    skipped = {p.rsplit("/", 1)[-1]: r for p, r in report.skipped}
    assert set(skipped) == {"broken.png", "notes.txt"} and "unreadable" in skipped["broken.png"]
    calls = []
    ds3, _ = read_image_folder(tmp_path, size=(4, 5), channels=3, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 8) and calls[-1] == (7, 8)
    assert ds3.image_shape == (4, 5, 3)
    assert {k: len(v) for k, v in scan_image_folder(tmp_path).items()} == {"cat": 4, "dog": 3}


def test_image_folder_cancel(tmp_path):
    import threading
    from cnnstudio.data.folder import ImportCancelled
    (tmp_path / "a").mkdir()
    for i in range(3):
        _write_png(tmp_path / "a" / f"{i}.png", np.zeros((4, 4), np.uint8), "L")
    cancel = threading.Event()
    with pytest.raises(ImportCancelled, match="after 2 of 3 files"):
        read_image_folder(tmp_path, progress=lambda d, t: d == 1 and cancel.set(), cancel=cancel)


def test_image_folder_colour_and_jpeg_bmp(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    from PIL import Image
    Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(tmp_path / "a" / "x.jpg")
    Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(tmp_path / "b" / "y.bmp")
    ds, report = read_image_folder(tmp_path)
    assert ds.image_shape == (6, 6, 3) and report.skipped == []  # resized to the first image's size
    assert ds.y.tolist() == [0, 1]
    # A large JPEG decoded at reduced scale (draft) keeps its colour on the way to 8x8.
    big = np.zeros((256, 256, 3), np.uint8)
    big[..., 0] = 200
    Image.fromarray(big).save(tmp_path / "a" / "big.jpg", quality=95)
    ds, _ = read_image_folder(tmp_path, size=(8, 8), channels=3)
    red = ds.x[ds.y == 0][0]  # "big.jpg" sorts before "x.jpg"
    assert red.shape == (8, 8, 3) and abs(int(red[..., 0].mean()) - 200) < 8 and red[..., 1].max() < 20


@pytest.mark.parametrize("layout", ["empty", "files_only", "no_images"])
def test_image_folder_bad_layout_explains_expected(tmp_path, layout):
    if layout == "files_only":
        (tmp_path / "x.png").write_bytes(b"")
    if layout == "no_images":
        (tmp_path / "cls").mkdir()
        (tmp_path / "cls" / "a.txt").write_text("x")
    with pytest.raises(DataFormatError, match="one sub-folder per class"):
        read_image_folder(tmp_path)


def test_load_dataset_unknown_path_and_name(tmp_path):
    with pytest.raises(DataError, match="no such file or folder.*sample"):
        load_dataset(tmp_path / "missing.npz")
    f = tmp_path / "x.idx3-ubyte"
    f.write_bytes(idx_bytes(make_images()[0]))
    with pytest.raises(DataFormatError, match="--labels"):
        load_dataset(f)


def test_image_folder_gray_content_saved_as_rgb_is_grayscale(tmp_path):
    # scanners, phones and JPEG tools often store gray digits as RGB; those are grayscale data
    from PIL import Image
    rng = np.random.default_rng(2)
    (tmp_path / "a").mkdir()
    gray = rng.integers(0, 256, (10, 10), dtype=np.uint8)
    Image.fromarray(gray).convert("RGB").save(tmp_path / "a" / "x.bmp")
    Image.fromarray(gray).convert("RGB").save(tmp_path / "a" / "y.jpg", quality=95)
    ds, _ = read_image_folder(tmp_path)
    assert ds.image_shape == (10, 10, 1)
    assert np.array_equal(ds.x[0, ..., 0], gray)  # the BMP is lossless
    tinted = np.stack([gray, gray, np.clip(gray.astype(int) + 40, 0, 255).astype(np.uint8)], axis=-1)
    Image.fromarray(tinted).save(tmp_path / "a" / "z.png")
    assert read_image_folder(tmp_path)[0].image_shape == (10, 10, 3)  # one colour image: colour


def test_npz_labels_beyond_its_class_names_are_refused(tmp_path):
    x, y = make_images(n=4)
    f = tmp_path / "named.npz"
    np.savez(f, x=x, y=np.array([0, 1, 2, 5]), class_names=np.array(["a", "b", "c"]))
    with pytest.raises(DataFormatError, match=r"label 5 in 'y' is out of range for the 3 class_names"):
        load_npz(f)
    np.savez(f, x=x, y=y, class_names=np.array([b"a", b"b", b"c"]))
    with pytest.raises(DataFormatError, match="class_names' must be 1-D text"):
        load_npz(f)


@pytest.mark.parametrize("kind", ["npz", "csv", "idx"])
def test_load_dataset_refuses_a_file_without_images(tmp_path, kind):
    x, y = make_images(n=0)
    if kind == "npz":
        f = tmp_path / "empty.npz"
        np.savez(f, x=x, y=y)
    elif kind == "csv":
        f = tmp_path / "empty.csv"
        f.write_text("label,p0,p1,p2,p3\n")
    else:
        f = tmp_path / "empty-images-idx3-ubyte"
        f.write_bytes(idx_bytes(x))
        (tmp_path / "empty-labels-idx1-ubyte").write_bytes(idx_bytes(y))
    with pytest.raises(DataFormatError, match="empty|no images|no data rows") as e:
        load_dataset(f)
    assert f.name in str(e.value)


def test_idx_with_labels_given_reports_a_wrong_magic(tmp_path):
    # the name says nothing (not *idx*), but --labels says the person means IDX
    x, y = make_images()
    f, lbl = tmp_path / "digits.bin", tmp_path / "digits-labels.bin"
    f.write_bytes(b"\x00\x00\x08\x02" + idx_bytes(x)[4:])
    lbl.write_bytes(idx_bytes(y))
    with pytest.raises(DataFormatError, match="wrong magic number 0x00000802.*expected 0x00000803"):
        load_dataset(f, lbl)


def test_labels_file_for_data_that_carries_its_labels_is_refused(tmp_path):
    x, y = make_images(n=4, h=3, w=3)
    f = tmp_path / "d.csv"
    f.write_text(csv_text(x, y))
    (tmp_path / "cls").mkdir()
    for data in (f, tmp_path):
        with pytest.raises(DataFormatError, match="leave --labels out"):
            load_dataset(data, tmp_path / "labels.gz")  # was silently ignored


@pytest.mark.parametrize("name", ["x.npz", "x.csv", "train-images-idx3-ubyte"])
def test_missing_files_say_check_the_path(tmp_path, name):
    from cnnstudio.data import load_csv, load_idx, load_npz
    f = tmp_path / name
    reader = {"x.npz": load_npz, "x.csv": load_csv}.get(name, lambda p: load_idx(p, p))
    with pytest.raises(DataFormatError, match="file not found; check the path"):
        reader(f)


def test_npz_in_channels_first_layout_gets_the_transpose_hint(tmp_path):
    f = tmp_path / "nchw.npz"
    np.savez(f, x=np.zeros((4, 1, 28, 28), np.uint8), y=np.arange(4))
    with pytest.raises(DataFormatError, match=r"\(4, 1, 28, 28\).*channels-first.*transpose\(0, 2, 3, 1\)"):
        load_npz(f)
