"""The gradient checker itself: it passes correct layers and must fail broken ones."""
import numpy as np
import pytest

from scratchnet.nn import Dense, Parameter
from scratchnet.nn.base import Layer
from scratchnet.testing import (GradientCheckError, check_gradients, check_loss_gradients,
                                named_parameters)


class _Scale(Layer):
    """y = x * w (w per feature): a tiny layer whose backward the tests break on purpose."""

    def __init__(self, d, rng, bug=None):
        self.w = Parameter(rng.standard_normal(d))
        self.bug = bug
        self._x = None

    def forward(self, x):
        self._x = x
        return x * self.w.value

    def backward(self, g):
        gw = (self._x * g).sum(axis=0)
        if self.bug == "param":
            gw = gw * 1.01  # a 1% error in dL/dw
        if self.bug == "overwrite":
            self.w.grad[...] = gw  # overwrites instead of accumulating
        else:
            self.w.grad += gw
        if self.bug == "input":
            return g * self.w.value[::-1]  # wrong: reversed weights
        if self.bug == "inplace":
            g *= self.w.value  # writes into the caller's gradient
            return g
        return g * self.w.value

    def parameters(self):
        return [] if self.bug == "hidden" else [self.w]


class _Square:
    def __call__(self, pred, target):
        self._d = pred - target
        return float(np.sum(self._d ** 2))

    def backward(self):
        return 2.0 * self._d * 0.999  # off by 0.1%


def test_correct_layer_passes_and_reports_every_array():
    rng = np.random.default_rng(0)
    layer = _Scale(4, rng)
    errors = check_gradients(layer, rng.standard_normal((3, 4)))
    assert set(errors) == {"x", "w"}
    assert max(errors.values()) < 1e-8


@pytest.mark.parametrize("bug, name", [("input", "x"), ("param", "w")])
def test_negative_control_wrong_backward_fails(bug, name):
    rng = np.random.default_rng(1)
    layer = _Scale(4, rng, bug=bug)
    with pytest.raises(GradientCheckError, match=rf"\n  {name}: \|analytic - numeric\|"):
        check_gradients(layer, rng.standard_normal((3, 4)))


def test_negative_control_dense_with_transposed_gradient():
    """A classic bug: dL/dW = G^T X instead of X^T G (square W, so the shapes still fit)."""
    rng = np.random.default_rng(2)
    layer = Dense(3, 3, random_state=0).astype(np.float64)

    def wrong_backward(g):
        layer.W.grad += g.T @ layer._x
        layer.b.grad += g.sum(axis=0)
        return g @ layer.W.value.T

    layer.backward = wrong_backward
    with pytest.raises(GradientCheckError, match="W: "):
        check_gradients(layer, rng.standard_normal((5, 3)))


def test_protocol_violations_are_caught():
    rng = np.random.default_rng(3)
    with pytest.raises(GradientCheckError, match="not accumulated"):
        check_gradients(_Scale(4, rng, bug="overwrite"), rng.standard_normal((3, 4)))
    with pytest.raises(GradientCheckError, match="wrote into its upstream gradient"):
        check_gradients(_Scale(4, rng, bug="inplace"), rng.standard_normal((3, 4)))
    with pytest.raises(GradientCheckError, match=r"parameters\(\) does not return.*'w'"):
        check_gradients(_Scale(4, rng, bug="hidden"), rng.standard_normal((3, 4)))


def test_float32_is_refused_with_a_hint():
    layer = Dense(3, 2, random_state=0)
    with pytest.raises(TypeError, match=r"float64.*astype"):
        check_gradients(layer, np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="parameter W"):
        check_gradients(layer, np.zeros((2, 3)))


def test_loss_checker_negative_control():
    rng = np.random.default_rng(4)
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    with pytest.raises(GradientCheckError, match="pred: "):
        check_loss_gradients(_Square(), pred, target)


def test_max_entries_samples_a_subset_and_still_catches_bugs():
    rng = np.random.default_rng(5)
    layer = Dense(20, 30, random_state=1).astype(np.float64)
    assert set(check_gradients(layer, rng.standard_normal((4, 20)), max_entries=25)) == \
        {"x", "W", "b"}
    broken = _Scale(50, rng, bug="param")
    with pytest.raises(GradientCheckError):
        check_gradients(broken, rng.standard_normal((2, 50)), max_entries=10)


def test_named_parameters_uses_attribute_names():
    layer = Dense(2, 3, random_state=0)
    assert [n for n, _ in named_parameters(layer)] == ["W", "b"]
