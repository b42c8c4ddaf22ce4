"""Sequential: whole-model gradients, overfitting, slicing, predict, summary, fit and its errors."""
import numpy as np
import pytest

from scratchnet.nn import (SGD, Adam, BCELoss, Dense, Flatten, MSELoss, ReLU, Reshape, Sequential,
                           Sigmoid)
from scratchnet.testing import check_gradients


def _dense_ae(d=32, h=64, code=8, seed=0):
    rngs = np.random.default_rng(seed).spawn(4)
    return Sequential([Dense(d, h, random_state=rngs[0]), ReLU(),
                       Dense(h, code, random_state=rngs[1]), ReLU(),
                       Dense(code, h, random_state=rngs[2]), ReLU(),
                       Dense(h, d, random_state=rngs[3]), Sigmoid()])


def test_whole_autoencoder_gradients_float64():
    rng = np.random.default_rng(50)
    model = Sequential([Flatten(), Dense(6, 5, random_state=1), ReLU(),
                        Dense(5, 2, random_state=2), Sigmoid(),
                        Dense(2, 5, random_state=3), ReLU(),
                        Dense(5, 6, random_state=4), Sigmoid(), Reshape((2, 3))]).astype(np.float64)
    for p in model.parameters()[1::2]:  # nonzero biases, so every parameter takes part
        p.value[:] = 0.1 * rng.standard_normal(p.shape)
    errors = check_gradients(model, rng.standard_normal((4, 2, 3)))
    assert set(errors) == {"x", "1.W", "1.b", "3.W", "3.b", "5.W", "5.b", "7.W", "7.b"}


def test_autoencoder_overfits_a_small_batch():
    rng = np.random.default_rng(51)
    X = rng.uniform(size=(16, 32)).astype(np.float32)
    ae = _dense_ae()
    before = MSELoss()(ae.predict(X), X)
    ae.fit(X, X, loss=MSELoss(), optimizer=Adam(ae.parameters(), lr=1e-2), epochs=300,
           batch_size=16, shuffle=False, verbose=False)
    after = MSELoss()(ae.predict(X), X)
    # measured: 0.081 -> 7.4e-5 (a factor of about 1,100) with these seeds
    assert after < before / 200, (before, after)


def test_slicing_shares_layers_and_training_moves_the_encoder():
    rng = np.random.default_rng(52)
    X = rng.uniform(size=(20, 32)).astype(np.float32)
    ae = _dense_ae()
    encoder = ae[:4]
    assert isinstance(encoder, Sequential) and len(encoder) == 4
    assert all(a is b for a, b in zip(encoder, ae.layers[:4]))
    assert ae[0] is ae.layers[0] and ae[-1] is ae.layers[-1]
    codes = encoder.predict(X)
    assert codes.shape == (20, 8)
    ae.fit(X, X, loss="mse", optimizer=SGD(ae.parameters(), lr=0.5), epochs=2, batch_size=5,
           random_state=0, verbose=False)
    assert not np.allclose(encoder.predict(X), codes)
    assert len(encoder.parameters()) == 4 and encoder.parameters()[0] is ae.parameters()[0]


def test_predict_batches_casts_and_returns_a_fresh_array():
    rng = np.random.default_rng(53)
    X = rng.uniform(size=(37, 32))  # float64 data into a float32 model
    ae = _dense_ae()
    full = ae.forward(X.astype(np.float32))
    out = ae.predict(X, batch_size=8)
    assert out.dtype == np.float32 and out.shape == (37, 32)
    np.testing.assert_allclose(out, full, rtol=1e-6, atol=1e-7)
    again = ae.predict(X, batch_size=8)
    assert again is not out and not np.shares_memory(again, out)


def test_summary_of_the_dec_dense_autoencoder():
    sizes = [784, 500, 500, 2000, 10]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [Dense(a, b, random_state=0), ReLU()]
    for a, b in zip(sizes[::-1][:-1], sizes[::-1][1:]):
        layers += [Dense(a, b, random_state=0), ReLU()]
    model = Sequential(layers[:7] + layers[8:-1])  # no ReLU on the code nor on the output
    text = model.summary((784,), print_fn=None)
    counts = [sum(p.size for p in layer.parameters()) for layer in model if layer.parameters()]
    assert counts == [392_500, 250_500, 1_002_000, 20_010, 22_000, 1_000_500, 250_500, 392_784]
    assert "Total params: 3,330,794" in text  # Keras's summary of DEC's MNIST autoencoder
    assert "(None, 10)" in text and "1,002,000" in text


def test_fit_history_callbacks_and_determinism():
    rng = np.random.default_rng(54)
    X = rng.uniform(size=(30, 32)).astype(np.float32)
    Xv = rng.uniform(size=(7, 32)).astype(np.float32)
    seen = []

    class Recorder:  # duck-typed: only the methods fit looks for
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, dict(logs)))

        def on_train_end(self, logs):
            seen.append(("end", dict(logs)))

    runs = []
    for _ in range(2):
        ae = _dense_ae(seed=1)
        hist = ae.fit(X, X, loss=BCELoss(), optimizer=Adam(ae.parameters(), lr=1e-3), epochs=3,
                      batch_size=8, validation_data=(Xv, Xv), random_state=7,
                      callbacks=[Recorder()], verbose=False)
        runs.append([p.value.copy() for p in ae.parameters()])
    assert hist.epoch == [0, 1, 2]
    assert len(hist.history["loss"]) == len(hist.history["val_loss"]) == 3
    assert hist.history["loss"][2] < hist.history["loss"][0]
    assert hist.history["val_loss"][-1] == pytest.approx(ae.evaluate(Xv, Xv, loss=BCELoss()))
    assert [e for e, _ in seen[:4]] == [0, 1, 2, "end"]
    assert seen[3][1] == seen[2][1]
    for a, b in zip(*runs):  # same seed, same data -> same weights
        np.testing.assert_array_equal(a, b)


def test_fit_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    rng = np.random.default_rng(55)
    X = rng.uniform(size=(10, 32)).astype(np.float32)
    ae = _dense_ae()
    batch_losses = []
    original = ae.train_step

    def spy(xb, yb, loss, optimizer):
        value = original(xb, yb, loss, optimizer)
        batch_losses.append((value, len(xb)))
        return value

    ae.train_step = spy
    hist = ae.fit(X, X, loss="mse", optimizer=SGD(ae.parameters(), lr=0.1), batch_size=4,
                  shuffle=False, verbose=False)
    assert [n for _, n in batch_losses] == [4, 4, 2]
    expected = sum(v * n for v, n in batch_losses) / 10
    assert hist.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_fit_and_predict_reject_bad_input():
    ae = _dense_ae()
    opt = SGD(ae.parameters(), lr=0.1)
    X = np.random.default_rng(56).uniform(size=(10, 32)).astype(np.float32)

    def fit(x, y, **kw):
        return ae.fit(x, y, loss="mse", optimizer=opt, verbose=False, **kw)

    with pytest.raises(ValueError, match=r"fit: expected X of shape \(N, \.\.\.\).*got \(32,\)"):
        fit(X[0], X[0])
    with pytest.raises(ValueError, match=r"Dense: expected input \(N, 32\), got \(10, 4, 8\)"):
        fit(X.reshape(10, 4, 8), X)
    with pytest.raises(ValueError, match=r"fit: X and Y must have the same number of samples, "
                                         r"got 10 and 9"):
        fit(X, X[:9])
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"fit: X must be finite, got 1 NaN/inf"):
        fit(bad, X)
    with pytest.raises(ValueError, match="fit: Y must be finite"):
        fit(X, np.where(bad > 0.5, np.inf, bad))
    with pytest.raises(TypeError, match="fit: expected a floating-point X, got dtype int64"):
        fit(np.ones((10, 32), dtype=np.int64), X)
    with pytest.raises(ValueError, match=r"validation X and validation Y .* got 3 and 2"):
        fit(X, X, validation_data=(X[:3], X[:2]))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        ae.fit(X, X, loss="hinge", optimizer=opt, verbose=False)
    with pytest.raises(ValueError, match=r"MSELoss: .*got pred \(10, 32\) and target \(10, 16\)"):
        fit(X, X[:, :16])
    with pytest.raises(ValueError, match="predict: X must be finite"):
        ae.predict(bad)
    with pytest.raises(TypeError, match="predict: expected X as a NumPy array, got list"):
        ae.predict([[0.0] * 32])
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        _dense_ae().backward(np.zeros((2, 32), dtype=np.float32))
    with pytest.raises(TypeError, match=r"layers\[1\] must be a Layer, got ufunc"):
        Sequential([Dense(2, 2), np.tanh])


def test_backward_without_input_gradient_gives_the_same_parameter_gradients():
    """``input_grad=False`` skips only dL/dx of the first layer (Dense.backward_params)."""
    import numpy as np
    from scratchnet.nn import Dense, ReLU, Sequential
    rng = np.random.default_rng(0)
    model = Sequential([Dense(6, 5, random_state=0), ReLU(), Dense(5, 3, random_state=1)])
    x, g = rng.standard_normal((7, 6)).astype(np.float32), rng.standard_normal((7, 3))
    grads = []
    for input_grad in (True, False):
        model.zero_grad()
        model.forward(x)
        out = model.backward(g.astype(np.float32), input_grad=input_grad)
        assert (out is None) == (not input_grad)
        grads.append([p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(a).sum() > 0 for a in grads[0])


# ---- training sized by optimizer steps ------------------------------------------------------

def test_fit_steps_runs_exactly_that_many_optimizer_steps():
    """10 samples, batch 4: 3 batches per epoch; 7 steps = two epochs and one batch of a third."""
    X = np.random.default_rng(57).uniform(size=(10, 32)).astype(np.float32)
    ae = _dense_ae()
    opt = Adam(ae.parameters(), lr=1e-3)
    sizes, epochs = [], []
    original = ae.train_step

    def spy(xb, yb, loss, optimizer):
        sizes.append(len(xb))
        return original(xb, yb, loss, optimizer)

    class Epochs:
        def on_epoch_end(self, epoch, logs):
            epochs.append(epoch)

    ae.train_step = spy
    hist = ae.fit(X, X, loss="mse", optimizer=opt, batch_size=4, steps=7, random_state=0,
                  callbacks=[Epochs()], verbose=False)
    assert opt.t == 7 and sizes == [4, 4, 2, 4, 4, 2, 4]
    assert epochs == hist.epoch == [0, 1, 2] and len(hist.history["loss"]) == 3


def test_fit_steps_equal_to_whole_epochs_gives_the_epoch_run_bit_for_bit():
    rng = np.random.default_rng(58)
    X = rng.uniform(size=(10, 32)).astype(np.float32)
    runs = []
    for length in ({"epochs": 3}, {"steps": 9}):
        ae = _dense_ae(seed=2)
        hist = ae.fit(X, X, loss="bce", optimizer=Adam(ae.parameters(), lr=1e-2), batch_size=4,
                      random_state=5, verbose=False, **length)
        runs.append(([p.value.copy() for p in ae.parameters()], hist.history))
    (w_epochs, h_epochs), (w_steps, h_steps) = runs
    assert h_steps == h_epochs
    for a, b in zip(w_epochs, w_steps):
        np.testing.assert_array_equal(a, b)


def test_fit_steps_resumed_at_an_epoch_ends_where_the_uninterrupted_run_ends():
    """steps counts from epoch 0: a run cut after epoch 1 and resumed with the same steps is
    the same run; the partial last epoch's loss is the mean over the batches it ran."""
    X = np.random.default_rng(59).uniform(size=(10, 32)).astype(np.float32)

    def train(calls):
        ae = _dense_ae(seed=3)
        opt = Adam(ae.parameters(), lr=1e-2)
        losses = []
        for kw in calls:
            h = ae.fit(X, X, loss="mse", optimizer=opt, batch_size=4, random_state=1,
                       verbose=False, **kw)
            losses += h.history["loss"]
        return [p.value.copy() for p in ae.parameters()], losses, opt.t

    straight = train([{"steps": 8}])
    resumed = train([{"epochs": 2}, {"steps": 8, "initial_epoch": 2}])
    assert straight[2] == resumed[2] == 8
    assert straight[1] == resumed[1] and len(straight[1]) == 3
    for a, b in zip(straight[0], resumed[0]):
        np.testing.assert_array_equal(a, b)
    # nothing left to do once the budget is spent
    ae = _dense_ae()
    opt = Adam(ae.parameters())
    assert ae.fit(X, X, loss="mse", optimizer=opt, batch_size=4, steps=6, initial_epoch=2,
                  verbose=False).epoch == [] and opt.t == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "fit: steps must be a positive int, got 0"),
    ({"steps": -3}, "fit: steps must be a positive int, got -3"),
    ({"steps": 7.0}, r"fit: steps must be a positive int, got 7\.0"),
    ({"steps": True}, "fit: steps must be a positive int, got True"),
    ({"steps": 7, "epochs": 2}, r"fit: give epochs or steps, not both \(got epochs=2, steps=7\)"),
])
def test_fit_rejects_bad_steps(kwargs, message):
    ae = _dense_ae()
    X = np.zeros((10, 32), np.float32)
    opt = SGD(ae.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=message):
        ae.fit(X, X, loss="mse", optimizer=opt, verbose=False, **kwargs)
    assert opt.t == 0


def test_a_run_that_compiles_says_so_once_and_a_cached_run_says_nothing(tmp_path):
    """A first run stands still while Numba compiles: one line says so, only when a kernel of
    scratchnet's really compiles (a cache miss), and never when they come from the cache."""
    import os
    import subprocess
    import sys
    code = ("import numpy as np\n"
            "from scratchnet.nn import SGD, Dense, ReLU, Sequential\n"
            "X = np.random.default_rng(0).random((8, 3)).astype(np.float32)\n"
            "net = Sequential([Dense(3, 3, random_state=0), ReLU()])\n"
            "net.fit(X, X, loss='mse', optimizer=SGD(net.parameters(), lr=0.01), epochs=2,\n"
            "        batch_size=4, verbose=False)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    def run():
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr
    first, second = run(), run()
    assert first.count("compiling its Numba kernels") == 1, first
    assert "compiling" not in second, second     # everything came from the cache


def test_the_plain_step_runs_small_batches_and_equals_the_parallel_one(monkeypatch):
    """A batch too small to split takes the five textbook lines of train_step, never
    ParallelStep.step; that plain step gives, bit for bit, ParallelStep's one-thread step."""
    from scratchnet.nn._parallel import ParallelStep
    rng = np.random.default_rng(58)
    X = rng.uniform(size=(24, 32)).astype(np.float32)
    a, b = _dense_ae(), _dense_ae()
    opt_a, opt_b = Adam(a.parameters(), lr=1e-2), Adam(b.parameters(), lr=1e-2)
    reference = ParallelStep(b, n_threads=1)
    for start in (0, 8, 16):
        xb = X[start:start + 8]
        assert not a._split_across_cores(len(xb))
        with monkeypatch.context() as m:
            m.setattr(ParallelStep, "step", lambda *args: pytest.fail("split a small batch"))
            va = a.train_step(xb, xb, MSELoss(), opt_a)
        vb = reference.step(xb, xb, MSELoss(), opt_b)
        assert va == vb
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_large_batches_are_split_only_with_more_than_one_thread():
    from scratchnet.nn import Conv2D, Flatten
    net = Sequential([Conv2D(1, 2, 3, random_state=0), ReLU(), Flatten(),
                      Dense(2 * 6 * 6, 4, random_state=1)])   # a Numba kernel: worth splitting
    assert not net._split_across_cores(31)       # below 2 x 16 samples: not worth a thread
    net._parallel_step.n_threads = 1
    assert not net._split_across_cores(256)      # one core: the plain step
    net._parallel_step.n_threads = 2
    assert net._split_across_cores(32) and net._parallel_step.threads_for(256) == 2


def test_a_dense_only_model_leaves_the_cores_to_blas():
    """Every weighted layer Dense: BLAS spreads each product over the cores, so the batch is
    never split (splitting was 10 % slower for the dense autoencoder)."""
    ae = _dense_ae()
    ae._split_across_cores(256)
    ae._parallel_step.n_threads = 2
    assert ae._parallel_step.threads_for(256) == 2 and not ae._split_across_cores(256)


def test_the_model_dtype_is_its_first_parameters():
    from scratchnet.nn.base import parameters_dtype
    ae = _dense_ae()
    assert ae.dtype == np.float32 == parameters_dtype(ae.parameters())
    assert ae.astype(np.float64).dtype == np.float64
    assert Sequential([ReLU()]).dtype is None                    # batches kept as they come
    assert parameters_dtype([]) == np.float32 and parameters_dtype([], None) is None
    x = np.ones((2, 32))                                          # float64 stays float64 there
    assert Sequential([ReLU()]).predict(x).dtype == np.float64
