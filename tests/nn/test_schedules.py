"""Learning-rate schedules: cosine values, the callback sets the rate each epoch, resuming mid-
schedule gives the same weights, and bad schedules fail clearly."""
import math

import numpy as np
import pytest

from scratchnet.nn import (SGD, Adam, Callback, Dense, LearningRateScheduler, ModelCheckpoint,
                           ReLU, Sequential, cosine_decay, load_checkpoint)


def _model(seed=0):
    r = np.random.default_rng(seed).spawn(2)
    return Sequential([Dense(8, 4, random_state=r[0]), ReLU(), Dense(4, 8, random_state=r[1])])


def _data(n=32):
    return np.random.default_rng(5).uniform(size=(n, 8)).astype(np.float32)


def test_cosine_decay_follows_half_a_cosine():
    s = cosine_decay(0.1, 10, final_lr=0.01)
    assert s(0) == pytest.approx(0.1)
    assert s(5) == pytest.approx(0.055)                 # halfway: the mean of both ends
    assert s(10) == pytest.approx(0.01) and s(25) == pytest.approx(0.01)
    e = 3
    assert s(e) == pytest.approx(0.01 + 0.045 * (1 + math.cos(math.pi * e / 10)))
    rates = [s(e) for e in range(11)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


@pytest.mark.parametrize("kwargs", [dict(lr=0.0, epochs=5), dict(lr=1e-3, epochs=0),
                                    dict(lr=1e-3, epochs=5, final_lr=2e-3),
                                    dict(lr=1e-3, epochs=2.5)])
def test_cosine_decay_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="cosine_decay"):
        cosine_decay(**kwargs)


class _Record(Callback):
    def __init__(self):
        self.rates = []

    def on_epoch_end(self, epoch, logs):
        self.rates.append(self.optimizer.lr)


def test_scheduler_sets_the_rate_before_every_epoch():
    X, model = _data(), _model()
    opt = Adam(model.parameters(), lr=1.0)
    schedule = cosine_decay(1e-2, 4)
    rec = _Record()
    model.fit(X, X, loss="mse", optimizer=opt, epochs=4, batch_size=8, random_state=0,
              verbose=False, callbacks=[LearningRateScheduler(schedule), rec])
    assert rec.rates == [schedule(e) for e in range(4)]


def test_a_zero_rate_leaves_the_weights_alone():
    X, model = _data(), _model()
    before = [p.value.copy() for p in model.parameters()]
    opt = SGD(model.parameters(), lr=0.5)
    model.fit(X, X, loss="mse", optimizer=opt, epochs=2, batch_size=8, random_state=0,
              verbose=False, callbacks=[LearningRateScheduler(lambda e: 0.0)])
    for a, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(a, p.value)
    model.fit(X, X, loss="mse", optimizer=opt, epochs=1, batch_size=8, random_state=0,
              verbose=False)                               # lr stays 0: the callback set it
    for a, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(a, p.value)


def test_resuming_mid_schedule_matches_an_uninterrupted_run(tmp_path):
    X = _data()
    schedule = cosine_decay(3e-2, 5)
    full = _model()
    opt = Adam(full.parameters(), lr=3e-2)
    full.fit(X, X, loss="mse", optimizer=opt, epochs=5, batch_size=8, random_state=3,
             verbose=False, callbacks=[LearningRateScheduler(schedule)])

    path = tmp_path / "ae.npz"
    part = _model()
    opt = Adam(part.parameters(), lr=3e-2)
    part.fit(X, X, loss="mse", optimizer=opt, epochs=2, batch_size=8, random_state=3,
             verbose=False, callbacks=[LearningRateScheduler(schedule), ModelCheckpoint(path)])
    model, opt2, state = load_checkpoint(path)
    model.fit(X, X, loss="mse", optimizer=opt2, epochs=5, batch_size=8,
              initial_epoch=state["epoch"], random_state=state["seed"], verbose=False,
              callbacks=[LearningRateScheduler(schedule)])
    for a, b in zip(full.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("bad", [-1e-3, float("nan")])
def test_a_bad_rate_is_a_clear_error(bad):
    X, model = _data(), _model()
    opt = Adam(model.parameters())
    with pytest.raises(ValueError, match=r"schedule\(0\) must be a finite rate >= 0"):
        model.fit(X, X, loss="mse", optimizer=opt, epochs=1, batch_size=8, verbose=False,
                  callbacks=[LearningRateScheduler(lambda e: bad)])


def test_scheduler_wants_a_callable():
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(1e-3)
