import numpy as np
import pytest

from cnnstudio.engine.losses import log_softmax, softmax, softmax_cross_entropy


def test_matches_direct_formula_on_moderate_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4))
    y = np.array([0, 3, 1, 2, 2])
    loss, dlogits, probs = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.log(p[np.arange(5), y]).mean())
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(dlogits, (p - onehot) / 5)
    np.testing.assert_allclose(probs, p)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 5))
    y = np.array([4, 0, 2])
    _, dlogits, _ = softmax_cross_entropy(logits, y)
    eps = 1e-6
    for i, j in [(0, 0), (1, 3), (2, 2), (0, 4)]:
        plus, minus = logits.copy(), logits.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        numeric = (softmax_cross_entropy(plus, y)[0] - softmax_cross_entropy(minus, y)[0]) / (2 * eps)
        assert dlogits[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_stable_for_huge_float32_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=np.float32)
    y = np.array([1, 0])
    loss, dlogits, probs = softmax_cross_entropy(logits, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits)) and np.all(np.isfinite(probs))
    # Sample 0 predicts class 0 with certainty, true class 1: loss 1e4; sample 1: log(2) + 1e4.
    assert loss == pytest.approx((1e4 + (1e4 + np.log(2))) / 2, rel=1e-6)
    np.testing.assert_allclose(probs[1], [0.0, 0.5, 0.5], atol=1e-7)
    assert probs.dtype == np.float32


def test_softmax_and_log_softmax_are_consistent():
    logits = np.array([[1000.0, 1001.0, 999.0]])
    np.testing.assert_allclose(np.exp(log_softmax(logits)), softmax(logits))
    assert softmax(logits).sum() == pytest.approx(1.0)


def test_bad_label_names_the_class_and_the_fix():
    with pytest.raises(ValueError, match=r"class 7 is outside 0\.\.2"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(ValueError, match=r"expected shape \(2,\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
