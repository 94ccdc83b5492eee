"""MNIST-style preprocessing of a drawn digit (crop, 20x20 box, centre of mass at the centre)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnstudio.data.drawing import centre_of_mass, fit_to_input, preprocess_drawing


def _stroke(canvas: np.ndarray, r0: int, c0: int, r1: int, c1: int, radius: int = 6) -> None:
    """Draw a thick straight line of ink 255 from (r0, c0) to (r1, c1) into canvas: (H, W) uint8."""
    rr, cc = np.mgrid[0:canvas.shape[0], 0:canvas.shape[1]]
    for t in np.linspace(0.0, 1.0, 50):
        r, c = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
        canvas[(rr - r) ** 2 + (cc - c) ** 2 <= radius ** 2] = 255


def _bbox(img: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(img.max(axis=1) > 0)
    cols = np.flatnonzero(img.max(axis=0) > 0)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _seven_in_corner() -> np.ndarray:
    canvas = np.zeros((280, 280), np.uint8)
    _stroke(canvas, 20, 20, 20, 110)     # top bar of a "7" in the top-left corner
    _stroke(canvas, 20, 110, 140, 50)    # its diagonal
    return canvas


def test_off_centre_stroke_ends_with_centre_of_mass_at_the_centre():
    out = preprocess_drawing(_seven_in_corner())
    assert out is not None and out.shape == (28, 28) and out.dtype == np.uint8
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14.0) <= 1.0 and abs(cx - 14.0) <= 1.0, (cy, cx)


def test_ink_is_scaled_into_a_20x20_box_with_strong_ink():
    out = preprocess_drawing(_seven_in_corner())
    h, w = _bbox(out)
    assert max(h, w) in (20, 21)  # the longer side fills the box (21: anti-aliased edge pixel)
    assert max(h, w) <= 21 and out.max() == 255


def test_aspect_ratio_is_kept():
    canvas = np.zeros((300, 300), np.uint8)
    canvas[50:250, 100:150] = 255       # a 200 x 50 bar: ratio 4
    out = preprocess_drawing(canvas)
    h, w = _bbox(out)
    assert h == 20
    assert 4 <= w <= 6                  # 20 / 4 = 5 pixels wide, give or take the anti-aliased edge


def test_wide_ink_fills_the_box_horizontally():
    canvas = np.zeros((200, 400), np.uint8)
    canvas[90:110, 10:390] = 255
    h, w = _bbox(preprocess_drawing(canvas))
    assert w == 20 and h <= 3


def test_tiny_ink_is_scaled_up_without_losing_it():
    canvas = np.zeros((100, 100), np.uint8)
    canvas[40:43, 60:62] = 255
    out = preprocess_drawing(canvas)
    assert out is not None and out.max() == 255
    assert max(_bbox(out)) <= 21


def test_empty_canvas_gives_none():
    assert preprocess_drawing(np.zeros((280, 280), np.uint8)) is None
    assert preprocess_drawing(np.zeros((50, 60), np.float32)) is None


def test_float_canvas_matches_uint8_canvas():
    canvas = _seven_in_corner()
    a = preprocess_drawing(canvas)
    b = preprocess_drawing(canvas.astype(np.float32) / 255.0)
    assert np.array_equal(a, b)


def test_anti_aliasing_gives_intermediate_grey_levels():
    canvas = np.zeros((280, 280), np.uint8)
    _stroke(canvas, 40, 200, 240, 60, radius=9)   # a diagonal: its edges fall between pixels
    out = preprocess_drawing(canvas)
    assert np.any((out > 0) & (out < 255))


def test_wrong_rank_is_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"\(28, 28, 3\)"):
        preprocess_drawing(np.zeros((28, 28, 3), np.uint8))


def test_fit_to_input_resizes_and_replicates_channels():
    digit = preprocess_drawing(_seven_in_corner())
    same = fit_to_input(digit, 28, 28, 1)
    assert same.shape == (28, 28, 1) and np.array_equal(same[:, :, 0], digit)
    colour = fit_to_input(digit, 32, 32, 3)
    assert colour.shape == (32, 32, 3)
    assert np.array_equal(colour[:, :, 0], colour[:, :, 2]) and colour.max() > 200
