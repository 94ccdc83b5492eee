"""The bundled sample, its fixed split, and the Dataset helpers."""

import hashlib

import numpy as np
import pytest

from cnnstudio.data import (
    DataFormatError,
    DataMismatchError,
    Dataset,
    fit_to_network,
    load_sample,
    resize,
    sample_split,
    split,
    to_float_nchw,
    to_grayscale,
    to_rgb,
)
from cnnstudio.resources import resource_path


def test_sample_has_500_real_digits_per_class():
    ds = load_sample()
    assert ds.x.shape == (5000, 28, 28, 1) and ds.x.dtype == np.uint8
    assert ds.y.dtype == np.int64
    assert ds.class_counts().tolist() == [500] * 10
    assert ds.num_classes == 10 and ds.image_shape == (28, 28, 1)
    # Real digits: dark background, bright strokes, not constant images.
    assert ds.x[:, 0, 0, 0].max() == 0
    assert ds.x.reshape(5000, -1).max(axis=1).min() > 100


def test_readme_sha256_matches_committed_file():
    data = resource_path("datasets", "mnist_sample.npz").read_bytes()
    readme = resource_path("datasets", "README.md").read_text()
    assert hashlib.sha256(data).hexdigest() in readme


def test_sample_split_is_stratified_disjoint_and_fixed():
    tr, va = sample_split()
    assert len(tr) == 4500 and len(va) == 500
    assert tr.class_counts().tolist() == [450] * 10
    assert va.class_counts().tolist() == [50] * 10
    # Disjoint and together the whole sample (compare image bytes).
    all_rows = {r.tobytes() for r in load_sample().x.reshape(5000, -1)}
    tr_rows = {r.tobytes() for r in tr.x.reshape(len(tr), -1)}
    va_rows = {r.tobytes() for r in va.x.reshape(len(va), -1)}
    assert not (tr_rows & va_rows) and (tr_rows | va_rows) <= all_rows
    tr2, va2 = sample_split()
    assert np.array_equal(tr.y, tr2.y) and np.array_equal(va.x, va2.x)
    assert len(set(tr.y[:30].tolist())) > 3  # shuffled, not sorted by label


def test_split_seed_changes_selection():
    ds = load_sample().subset(np.arange(0, 5000, 10))
    a, _ = split(ds, 0.2, seed=1)
    b, _ = split(ds, 0.2, seed=2)
    assert not np.array_equal(a.y, b.y)


def test_to_float_nchw_scales_and_transposes():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.uint8).reshape(2, 3, 4, 2) * 5
    f = to_float_nchw(x)
    assert f.shape == (2, 2, 3, 4) and f.dtype == np.float32
    assert f[1, 1, 2, 3] == pytest.approx(x[1, 2, 3, 1] / 255.0)
    assert to_float_nchw(np.full((1, 1, 1, 1), 255, np.uint8))[0, 0, 0, 0] == 1.0
    assert to_float_nchw(x, np.dtype("float64")).dtype == np.float64


def test_dataset_refuses_bad_labels():
    with pytest.raises(DataFormatError, match="labels must be in 0..1"):
        Dataset("t", np.zeros((2, 4, 4, 1), np.uint8), np.array([0, 2]), ["a", "b"])
    with pytest.raises(DataFormatError, match="uint8"):
        Dataset("t", np.zeros((2, 4, 4, 1), np.float32), np.array([0, 1]), ["a", "b"])


def test_grayscale_rgb_and_fit_to_network():
    ds = load_sample().subset(np.arange(5))
    rgb = to_rgb(ds)
    assert rgb.image_shape == (28, 28, 3)
    assert np.array_equal(to_grayscale(rgb).x, ds.x)
    with pytest.raises(DataMismatchError, match="input channels to 3, or convert the images with --grayscale"):
        fit_to_network(rgb, 28, 28, 1)
    # the flag named is the one that converts this way (both spell the same switch)
    with pytest.raises(DataMismatchError, match="input channels to 1, or convert the images with --rgb"):
        fit_to_network(ds, 28, 28, 3)
    big = fit_to_network(ds, 32, 32, 1)
    assert big.image_shape == (32, 32, 1)
    # Resizing keeps the picture: the mean intensity stays close.
    assert abs(float(big.x.mean()) - float(ds.x.mean())) < 5
    assert resize(ds, 28, 28) is ds
