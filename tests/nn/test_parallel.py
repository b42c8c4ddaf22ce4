"""The batch-splitting training step gives the serial step's loss and gradients."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from scratchnet.nn import (BCELoss, Conv2D, Conv2DTranspose, Dense, Flatten, MaxPool2D,
                           MSELoss, ReLU, Sequential, Sigmoid, UpSampling2D)
from scratchnet.nn._parallel import ParallelStep, _replica
from scratchnet.nn.base import Layer


class _NoStep:
    """An optimizer that leaves the weights alone, so gradients can be compared."""

    def __init__(self):
        self.calls = 0

    def step(self):
        self.calls += 1


def _conv_model():
    return Sequential([Conv2D(2, 4, 3, 2, random_state=0), ReLU(), MaxPool2D(2, "same"),
                       UpSampling2D(2), Conv2DTranspose(4, 2, 3, 2, random_state=1), Sigmoid()])


def _grads(model):
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("loss_cls", [MSELoss, BCELoss])
@pytest.mark.parametrize("n", [64, 37])  # even and uneven splits
def test_parallel_step_equals_serial_step(loss_cls, n):
    rng = np.random.default_rng(30)
    model = _conv_model().astype(np.float64)
    x = rng.random((n, 2, 8, 8))
    serial, parallel = ParallelStep(model, n_threads=1), ParallelStep(model, n_threads=2,
                                                                       min_per_thread=8)
    opt = _NoStep()
    v1 = serial.step(x, x, loss_cls(), opt)
    g1 = _grads(model)
    v2 = parallel.step(x, x, loss_cls(), opt)
    g2 = _grads(model)
    assert opt.calls == 2
    assert v2 == pytest.approx(v1, rel=1e-12)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
        assert np.abs(a).max() > 0


def test_replicas_share_values_and_relink_after_astype():
    rng = np.random.default_rng(31)
    model = Sequential([Flatten(), Dense(12, 5, random_state=0), ReLU(), Dense(5, 3,
                                                                              random_state=1)])
    step = ParallelStep(model, n_threads=2, min_per_thread=4)
    x = rng.standard_normal((16, 3, 2, 2)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    step.step(x, y, MSELoss(), _NoStep())
    for p, q in step._pairs[0]:
        assert q.value is p.value and q.grad is not p.grad
    model.astype(np.float64)  # rebinds every Parameter.value
    ref = ParallelStep(model, n_threads=1)
    v1 = ref.step(x.astype(np.float64), y.astype(np.float64), MSELoss(), _NoStep())
    g1 = _grads(model)
    v2 = step.step(x.astype(np.float64), y.astype(np.float64), MSELoss(), _NoStep())
    assert v2 == pytest.approx(v1, rel=1e-12)
    for a, b in zip(g1, _grads(model)):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)


def test_blas_limits_are_restored_after_the_step():
    before = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    model = Sequential([Dense(4, 2, random_state=0)])
    rng = np.random.default_rng(32)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    ParallelStep(model, n_threads=2).step(x, x[:, :2], MSELoss(), _NoStep())
    assert [(i["internal_api"], i["num_threads"]) for i in threadpool_info()] == before


def test_small_batches_run_serially():
    model = Sequential([Dense(4, 2, random_state=0)])
    step = ParallelStep(model, n_threads=2, min_per_thread=16)
    x = np.ones((20, 4), np.float32)
    step.step(x, x[:, :2], MSELoss(), _NoStep())
    assert step._replicas == []  # 20 < 2 * 16: no replica was needed


def test_replica_refuses_parameters_not_held_as_attributes():
    class Hidden(Layer):
        def __init__(self):
            from scratchnet.nn import Parameter
            self._params = [Parameter(np.zeros(3))]

        def parameters(self):
            return self._params

    with pytest.raises(TypeError, match="cannot replicate Hidden"):
        _replica(Hidden())
    with pytest.raises(ValueError, match="n_threads"):
        ParallelStep(Sequential([]), n_threads=0)


def test_fit_uses_the_parallel_step_and_learns():
    rng = np.random.default_rng(33)
    from scratchnet.nn import Adam
    model = Sequential([Conv2D(1, 4, 3, random_state=0), ReLU(), Conv2D(4, 1, 3, random_state=1),
                        Sigmoid()])
    x = rng.random((64, 1, 8, 8)).astype(np.float32)
    hist = model.fit(x, x, loss=BCELoss(), optimizer=Adam(model.parameters(), lr=1e-2),
                     epochs=15, batch_size=64, random_state=0, verbose=False)
    assert isinstance(model._parallel_step, ParallelStep)
    assert hist.history["loss"][-1] < 0.97 * hist.history["loss"][0]


def test_parallel_step_with_adam_follows_the_serial_one():
    """Gradients summed from the replicas, then one Adam update: the weights after a few
    steps are those of the serial step, up to float rounding."""
    from scratchnet.nn import Adam
    rng = np.random.default_rng(32)
    x = rng.random((64, 2, 8, 8))
    models = [_conv_model().astype(np.float64) for _ in range(2)]
    steps = [ParallelStep(models[0], n_threads=1),
             ParallelStep(models[1], n_threads=2, min_per_thread=8)]
    opts = [Adam(m.parameters(), lr=1e-2) for m in models]
    for _ in range(3):
        for step, opt in zip(steps, opts):
            step.step(x, x, MSELoss(), opt)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(b.value, a.value, rtol=1e-9, atol=1e-12)
    assert opts[1].t == 3
