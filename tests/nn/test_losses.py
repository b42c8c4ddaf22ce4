"""MSE, BCE and KL losses: gradients, values against independent formulas, clipping, errors."""
import copy
import warnings

import numpy as np
import pytest
from scipy.special import rel_entr
from sklearn.metrics import mean_squared_error

from scratchnet.nn import BCELoss, KLDivLoss, MSELoss
from scratchnet.testing import check_loss_gradients


def _rows_on_simplex(rng, n, k):
    e = np.exp(rng.standard_normal((n, k)))
    return e / e.sum(axis=1, keepdims=True)


def test_mse_gradient_and_value():
    rng = np.random.default_rng(20)
    pred, target = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    check_loss_gradients(MSELoss(), pred, target)
    # mean over all elements, as sklearn (and Keras, for equal row lengths) define it
    assert MSELoss()(pred, target) == pytest.approx(mean_squared_error(target, pred), rel=1e-12)
    img = rng.standard_normal((3, 2, 4, 4))
    assert MSELoss()(img, 0 * img) == pytest.approx(np.mean(img ** 2), rel=1e-12)


def test_mse_backward_is_repeatable_and_keeps_dtype():
    rng = np.random.default_rng(21)
    pred = rng.standard_normal((4, 3)).astype(np.float32)
    target = rng.standard_normal((4, 3))  # float64 target is cast to pred's dtype
    loss = MSELoss()
    loss(pred, target)
    g1 = loss.backward().copy()
    g2 = loss.backward()
    assert g2.dtype == np.float32
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(g2, 2 * (pred - target) / pred.size, rtol=1e-5)


@pytest.mark.parametrize("binary", [False, True])
def test_bce_gradient_and_value(binary):
    rng = np.random.default_rng(22)
    pred = rng.uniform(0.05, 0.95, (4, 6))
    target = (rng.uniform(size=(4, 6)) > 0.5).astype(float) if binary else rng.uniform(size=(4, 6))
    check_loss_gradients(BCELoss(), pred, target)
    expected = -np.mean(target * np.log(pred) + (1 - target) * np.log1p(-pred))
    assert BCELoss()(pred, target) == pytest.approx(expected, rel=1e-12)


def test_bce_is_finite_at_zero_and_one_and_clips_like_keras():
    pred = np.array([[0.0, 1.0, 0.0, 1.0, 0.3]], dtype=np.float32)
    target = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]], dtype=np.float32)
    loss = BCELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warning either
        value = loss(pred, target)
        grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == np.float32
    # the two confidently wrong entries cost -log(eps) and -log(1 - (1 - eps)), where
    # 1 - eps rounds to 1 - 2**-23 in float32; the two right ones cost about eps each
    one_minus_eps = np.float64(np.float32(1 - 1e-7))
    expected = (-np.log(1e-7) - np.log(1 - one_minus_eps) - np.log(0.3)) / 5
    assert value == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(grad[0, :4], 0)  # clipped entries pass no gradient
    assert grad[0, 4] == pytest.approx((0.3 - 1) / (0.3 * 0.7) / 5, rel=1e-5)


def test_bce_output_is_not_overwritten_by_the_next_call():
    rng = np.random.default_rng(23)
    loss = BCELoss()
    p1, t1 = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(size=(3, 4))
    loss(p1, t1)
    g1 = loss.backward()
    kept = g1.copy()
    loss(rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(size=(3, 4)))
    loss.backward()
    np.testing.assert_array_equal(g1, kept)


def test_kl_gradient_and_value():
    rng = np.random.default_rng(24)
    q, p = _rows_on_simplex(rng, 6, 4), _rows_on_simplex(rng, 6, 4)
    check_loss_gradients(KLDivLoss(), q, p)
    assert KLDivLoss()(q, p) == pytest.approx(rel_entr(p, q).sum() / 6, rel=1e-12)
    assert KLDivLoss()(q, q) == pytest.approx(0, abs=1e-15)
    assert KLDivLoss()(q, p) > 0


def test_kl_with_zeros_is_finite():
    q = np.array([[1.0, 0.0], [0.5, 0.5]])
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    loss = KLDivLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(q, p)
        grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx((np.log(1 / 1e-7) + np.log(2)) / 2, rel=1e-5)


@pytest.mark.parametrize("loss", [MSELoss(), BCELoss(), KLDivLoss()])
def test_loss_errors(loss):
    with pytest.raises(ValueError, match=r"got pred \(2, 3\) and target \(3, 2\)"):
        loss(np.full((2, 3), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        type(loss)().backward()
    with pytest.raises(TypeError, match="floating-point pred"):
        loss(np.ones((2, 3), dtype=int), np.ones((2, 3)))


def test_kl_needs_two_dimensions():
    with pytest.raises(ValueError, match=r"KLDivLoss: expected pred of shape \(N, K\), got \(6,\)"):
        KLDivLoss()(np.full(6, 1 / 6), np.full(6, 1 / 6))


def test_copy_gives_an_independent_loss():
    rng = np.random.default_rng(25)
    a = BCELoss(eps=1e-6)
    a(rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(size=(3, 4)))
    b = copy.copy(a)
    assert b.eps == 1e-6 and b._bufs == ()
    with pytest.raises(RuntimeError):
        b.backward()
