"""SGD, Adam, Adadelta: hand-computed steps, kernel vs NumPy reference, in-place updates, state."""
import math

import numpy as np
import pytest

from scratchnet.nn import SGD, Adadelta, Adam, Parameter
from scratchnet.nn import optim


def _param(value, grad, dtype=np.float64):
    p = Parameter(np.array(value, dtype=dtype))
    p.grad[...] = grad
    return p


def test_sgd_plain_momentum_and_nesterov_by_hand():
    # theta = 1, g = 1 at both steps, lr = 0.1, mu = 0.9
    plain, mom, nest = _param([1.0], 1.0), _param([1.0], 1.0), _param([1.0], 1.0)
    opts = [SGD([plain], lr=0.1), SGD([mom], lr=0.1, momentum=0.9),
            SGD([nest], lr=0.1, momentum=0.9, nesterov=True)]
    for o in opts:
        o.step()
    # v1 = -0.1;  plain 0.9;  momentum 1 + v1 = 0.9;  Nesterov 1 + 0.9 v1 - 0.1 = 0.81
    assert plain.value[0] == pytest.approx(0.9)
    assert mom.value[0] == pytest.approx(0.9)
    assert nest.value[0] == pytest.approx(0.81)
    for o in opts:
        o.step()
    # v2 = 0.9 (-0.1) - 0.1 = -0.19;  momentum 0.9 - 0.19;  Nesterov 0.81 + 0.9 v2 - 0.1
    assert plain.value[0] == pytest.approx(0.8)
    assert mom.value[0] == pytest.approx(0.71)
    assert nest.value[0] == pytest.approx(0.539)


def test_adam_first_two_steps_by_hand():
    p = _param([1.0, -2.0], [0.5, -0.1])
    opt = Adam([p], lr=0.1)
    opt.step()
    # t = 1: m = 0.1 g, v = 0.001 g^2, lr_1 = 0.1 sqrt(0.001) / 0.1
    for k, g in enumerate([0.5, -0.1]):
        m, v, lr_t = 0.1 * g, 0.001 * g * g, 0.1 * math.sqrt(0.001) / 0.1
        start = [1.0, -2.0][k]
        assert p.value[k] == pytest.approx(start - lr_t * m / (math.sqrt(v) + 1e-7), rel=1e-12)
    assert p.value[0] == pytest.approx(0.9, abs=1e-5)  # ~ lr * sign(g) on the first step
    # t = 2 with a new gradient (0.2, 0.3)
    first = p.value.copy()
    p.grad[...] = [0.2, 0.3]
    opt.step()
    for k, (g1, g2) in enumerate([(0.5, 0.2), (-0.1, 0.3)]):
        m = 0.9 * 0.1 * g1 + 0.1 * g2
        v = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2
        lr_t = 0.1 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
        assert p.value[k] == pytest.approx(first[k] - lr_t * m / (math.sqrt(v) + 1e-7), rel=1e-12)
    assert opt.t == 2


def test_adadelta_first_two_steps_by_hand():
    p = _param([1.0], [2.0])
    opt = Adadelta([p], lr=1.0, rho=0.95, epsilon=1e-7)
    opt.step()
    acc_g = 0.05 * 4.0
    delta = 2.0 * math.sqrt(0 + 1e-7) / math.sqrt(acc_g + 1e-7)
    acc_d = 0.05 * delta ** 2
    assert p.value[0] == pytest.approx(1.0 - delta, rel=1e-12)
    opt.step()
    acc_g = 0.95 * acc_g + 0.05 * 4.0
    delta2 = 2.0 * math.sqrt(acc_d + 1e-7) / math.sqrt(acc_g + 1e-7)
    assert p.value[0] == pytest.approx(1.0 - delta - delta2, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("which", ["sgd", "nesterov", "adam", "adadelta"])
def test_kernels_match_numpy_references(which, dtype):
    rng = np.random.default_rng(30)
    p0 = rng.standard_normal(1000).astype(dtype)
    grads = [rng.standard_normal(1000).astype(dtype) for _ in range(3)]
    a, b = p0.copy(), p0.copy()
    s1, s2 = [np.zeros_like(p0) for _ in range(2)], [np.zeros_like(p0) for _ in range(2)]
    for t, g in enumerate(grads, start=1):
        if which in ("sgd", "nesterov"):
            nest = which == "nesterov"
            optim._sgd_reference(a, g, s1[0], 0.1, 0.9, nest)
            optim._sgd_kernel(b, g, s2[0], 0.1, 0.9, nest)
        elif which == "adam":
            lr_t = 0.1 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            optim._adam_reference(a, g, *s1, t, 0.1, 0.9, 0.999, 1e-7)
            optim._adam_kernel(b, g, *s2, lr_t, 0.9, 0.999, 1e-7)
        else:
            optim._adadelta_reference(a, g, *s1, 1.0, 0.95, 1e-7)
            optim._adadelta_kernel(b, g, *s2, 1.0, 0.95, 1e-7)
    assert a.dtype == b.dtype == dtype
    assert not np.allclose(a, p0)  # something happened
    # agreement to a few units in the last place of |p| ~ 1
    tol = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("which", ["momentum", "adam", "adadelta"])
def test_running_averages_that_decay_below_normal_numbers_become_zero(which):
    """A weight whose gradient stays 0 sees its momentum/moments decay geometrically; once
    they fall under float32's smallest normal number they are set to 0 (kernel and reference
    alike), never left among the subnormal numbers that slow the CPU down ~100x."""
    tiny = np.finfo(np.float32).tiny
    start = np.array([0.0, 1.1 * tiny, 1e-30, 1e-3], np.float32)
    for impl in ("reference", "kernel"):
        p, g = np.ones(4, np.float32), np.zeros(4, np.float32)
        s = [start.copy(), start.copy()]
        for t in range(1, 2000):
            if which == "momentum":
                getattr(optim, f"_sgd_{impl}")(p, g, s[0], 0.1, 0.9, False)
            elif which == "adam":
                args = (t, 1e-3) if impl == "reference" else (1e-3,)
                getattr(optim, f"_adam_{impl}")(p, g, *s, *args, 0.9, 0.999, 1e-7)
            else:
                getattr(optim, f"_adadelta_{impl}")(p, g, *s, 1.0, 0.95, 1e-7)
            for a in s:
                assert not ((a != 0) & (np.abs(a) < tiny)).any(), (impl, t, a)
        assert s[0][1] == 0 and s[0][2] == 0, (impl, s[0])     # decayed, then flushed


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.5),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.5, nesterov=True),
                                  Adam, Adadelta],
                         ids=["sgd", "momentum", "nesterov", "adam", "adadelta"])
def test_updates_in_place_and_state_dict_round_trip(make):
    rng = np.random.default_rng(31)
    shapes = [(3, 4), (4,)]
    params = [Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    arrays = [p.value for p in params]
    opt = make(params)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]

    def run(o, ps, gs):
        for g_list in gs:
            o.zero_grad()
            for p, g in zip(ps, g_list):
                p.grad += g
            o.step()

    run(opt, params, grads[:2])
    assert all(p.value is a for p, a in zip(params, arrays))  # never rebound
    state = opt.state_dict()
    snapshot = [p.value.copy() for p in params]
    run(opt, params, grads[2:])
    expected = [p.value.copy() for p in params]

    # a fresh optimizer on fresh parameters, restored from the snapshot, continues identically
    params2 = [Parameter(v.copy()) for v in snapshot]
    opt2 = make(params2)
    opt2.load_state_dict(state)
    run(opt2, params2, grads[2:])
    for p, e in zip(params2, expected):
        np.testing.assert_array_equal(p.value, e)
    assert opt2.t == 4
    # the state is copied both ways: neither side's later steps change the other's
    assert state["t"] == 2 and set(state) == {"t", *opt._slots}
    for slot in opt._slots:
        for kept, a, b in zip(state[slot], getattr(opt, slot), getattr(opt2, slot)):
            assert not np.shares_memory(kept, a) and not np.shares_memory(kept, b)


def test_state_dict_errors_and_bad_arguments():
    p = Parameter(np.zeros((2, 2), dtype=np.float32))
    opt = Adam([p])
    with pytest.raises(ValueError, match=r"expected keys \['m', 't', 'v'\], got \['t'\]"):
        opt.load_state_dict({"t": 3})
    bad = opt.state_dict()
    bad["m"] = [np.zeros(3)]
    with pytest.raises(ValueError, match=r"'m'\[0\] expected shape \(2, 2\), got \(3,\)"):
        opt.load_state_dict(bad)
    with pytest.raises(TypeError, match=r"params\[0\] must be a Parameter, got ndarray"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="lr=-1"):
        Adam([p], lr=-1)
    with pytest.raises(ValueError, match="momentum=1.5"):
        SGD([p], lr=0.1, momentum=1.5)


def test_zero_grad_and_float32_stays_float32():
    p = _param(np.ones((2, 3)), 0.5, dtype=np.float32)
    opt = Adam([p])
    opt.step()
    assert p.value.dtype == np.float32 and opt.m[0].dtype == np.float32
    opt.zero_grad()
    assert not p.grad.any()
