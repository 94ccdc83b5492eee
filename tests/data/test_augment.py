"""Augmentation: geometry is right, randomness is seeded, options do what they say."""

import numpy as np
import pytest

from cnnstudio.data import Augmenter, preview, to_float_nchw, load_sample
from cnnstudio.data.augment import _bilinear


def _digits(n=16):
    return to_float_nchw(load_sample().x[::300][:n])


def test_identity_when_everything_off():
    x = _digits()
    out = Augmenter(shift=0, rotation=0, scale=0, noise=0)(x, np.random.default_rng(0))
    assert np.array_equal(out, x) and out is not x


def test_pure_shift_moves_the_image():
    x = _digits(4)
    aug = Augmenter(shift=3, rotation=0, scale=0, noise=0)
    out = aug(x, np.random.default_rng(1))
    # Centre of mass moves by at most 3 px per axis, and by something for at least one sample.
    def com(a):
        h, w = a.shape[-2:]
        m = a.sum(axis=(1, 2, 3))
        return np.stack([(a.sum(axis=(1, 3)) * np.arange(h)).sum(1) / m,
                         (a.sum(axis=(1, 2)) * np.arange(w)).sum(1) / m], 1)
    moved = com(out) - com(x)
    assert np.abs(moved).max() <= 3.2 and np.abs(moved).max() > 0.3
    # Ink is (nearly) conserved: digits are centred, a 3 px shift keeps them inside.
    assert np.allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.02)


def test_rotation_by_90_degrees_matches_rot90():
    rng = np.random.default_rng(0)
    x = rng.random((2, 1, 7, 7)).astype(np.float32)
    n, c, h, w = x.shape
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    # dst(i, j) = src(j, w-1-i) is np.rot90 (counter-clockwise).
    sy = np.broadcast_to(gx, (n, h, w))
    sx = np.broadcast_to(w - 1 - gy, (n, h, w))
    assert np.allclose(_bilinear(x, sy, sx), np.rot90(x, 1, axes=(2, 3)))


def test_seeded_and_varied():
    x = _digits(8)
    aug = Augmenter()
    a = aug(x, np.random.default_rng(5))
    b = aug(x, np.random.default_rng(5))
    c = aug(x, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == x.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1


def test_flip_mirrors_about_half_the_samples():
    x = np.random.default_rng(0).random((200, 3, 4, 5)).astype(np.float32)
    out = Augmenter(shift=0, rotation=0, scale=0, noise=0, flip=True)(x, np.random.default_rng(0))
    flipped = np.array([np.array_equal(o, xi[:, :, ::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped | same) and 60 < flipped.sum() < 140


def test_noise_std():
    x = np.full((64, 1, 28, 28), 0.5, np.float32)
    out = Augmenter(shift=0, rotation=0, scale=0, noise=0.05)(x, np.random.default_rng(0))
    assert abs(float((out - x).std()) - 0.05) < 0.005


def test_config_round_trip_and_validation():
    aug = Augmenter(shift=1, rotation=5, scale=0.2, noise=0.0, flip=True)
    assert Augmenter.from_config(aug.get_config()).get_config() == aug.get_config()
    with pytest.raises(ValueError, match="rotation"):
        Augmenter(rotation=-1)
    with pytest.raises(ValueError, match="scale"):
        Augmenter(scale=1.5)
    with pytest.raises(ValueError, match="unknown setting"):
        Augmenter.from_config({"shear": 3})


def test_preview_single_image_and_batch():
    x = _digits(3)
    p = preview(Augmenter(), x[0], n=6, seed=1)
    assert p.shape == (6, 1, 28, 28)
    assert not np.array_equal(p[0], p[1])
    assert np.array_equal(p, preview(Augmenter(), x[0], n=6, seed=1))
    assert preview(Augmenter(), x, n=5).shape == (5, 1, 28, 28)
    assert np.array_equal(Augmenter().preview(x[0], 6, 1), p)
