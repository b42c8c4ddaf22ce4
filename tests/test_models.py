"""The write-ups' autoencoders: parameter counts, code shapes, training, save/load, resuming,
and the errors a user meets first."""
import numpy as np
import pytest

from scratchnet.models import (Autoencoder, cifar_autoencoder, dense_autoencoder, masking_noise,
                               mnist_conv_autoencoder, pool_autoencoder)
from scratchnet.nn import Adam, Dense, ReLU, Sequential


def _counts(ae):
    """Parameter count of every layer that has parameters, in order."""
    return [sum(p.size for p in layer.parameters()) for layer in ae.model if layer.parameters()]


def _same_weights(a, b):
    pa, pb = a.model.parameters(), b.model.parameters()
    return len(pa) == len(pb) and all(np.array_equal(x.value, y.value) for x, y in zip(pa, pb))


def _blobs(rng, n, shape):
    """Images in [0, 1] with structure (a bright square at a random place): learnable."""
    X = rng.uniform(0, 0.2, size=(n,) + shape).astype(np.float32)
    h, w = shape[-2:]
    for i in range(n):
        r, c = rng.integers(0, h - h // 3), rng.integers(0, w - w // 3)
        X[i, ..., r:r + h // 3, c:c + w // 3] = 0.9
    return X


# ---- architectures against the write-ups' Keras summaries ---------------------------------

@pytest.mark.parametrize("build, counts, code_shape, input_shape", [
    # W0: Conv2D 3→8→16→32 stride 2; Conv2DTranspose 32→32→16→8, then 8→3.
    (cifar_autoencoder, [224, 1168, 4640, 9248, 4624, 1160, 219], (32, 4, 4), (3, 32, 32)),
    # W1: Conv 1→16, 16→2 with pooling; Conv 2→2, 2→16, 16→1 with up-sampling.
    (mnist_conv_autoencoder, [160, 290, 38, 304, 145], (2, 7, 7), (1, 28, 28)),
    # W4: 3 filters everywhere: 3·3·3·3 + 3 = 84 per conv.
    (pool_autoencoder, [84] * 5, (3, 8, 8), (3, 32, 32)),
    # DEC: 784·500+500, 500·500+500, 500·2000+2000, 2000·10+10 and the mirror image.
    (dense_autoencoder, [392500, 250500, 1002000, 20010, 22000, 1000500, 250500, 392784],
     (10,), (784,)),
    # W2: 784-784-64-32-3 and back.
    (lambda random_state: dense_autoencoder((784, 784, 64, 32, 3), "sigmoid", random_state),
     [615440, 50240, 2080, 99, 128, 2112, 50960, 615440], (3,), (784,)),
])
def test_parameter_counts_and_code_shapes(build, counts, code_shape, input_shape):
    ae = build(random_state=0)
    assert _counts(ae) == counts
    assert ae.code_shape == code_shape and ae.input_shape == input_shape
    lines = []
    ae.summary(print_fn=lines.append)
    assert f"Total params: {sum(counts):,}" in lines[0]
    X = np.random.default_rng(0).uniform(size=(2,) + input_shape).astype(np.float32)
    assert ae.encode(X).shape == (2,) + code_shape
    assert ae.features(X).shape == (2, int(np.prod(code_shape)))
    assert ae.reconstruct(X).shape == X.shape
    assert ae.decode(ae.features(X)).shape == X.shape     # flat codes are reshaped



@pytest.mark.parametrize("build, input_shape, code_shape", [
    (lambda s: mnist_conv_autoencoder(random_state=s, image_size=16), (1, 16, 16), (2, 4, 4)),
    (lambda s: mnist_conv_autoencoder(random_state=s, image_size=8), (1, 8, 8), (2, 2, 2)),
    (lambda s: mnist_conv_autoencoder(3, s, image_size=(32, 12)), (3, 32, 12), (2, 8, 3)),
    (lambda s: pool_autoencoder(1, random_state=s, image_size=16), (1, 16, 16), (3, 4, 4)),
    (lambda s: pool_autoencoder(random_state=s, image_size=8), (3, 8, 8), (3, 2, 2)),
    (lambda s: cifar_autoencoder(s, in_channels=1, image_size=16), (1, 16, 16), (32, 2, 2)),
    (lambda s: cifar_autoencoder(s, image_size=8), (3, 8, 8), (32, 1, 1)),
])
def test_conv_autoencoders_take_other_image_sizes_and_channels(build, input_shape, code_shape):
    ae = build(0)
    assert ae.input_shape == input_shape and ae.code_shape == code_shape
    X = _blobs(np.random.default_rng(1), 6, input_shape)
    assert ae.reconstruct(X).shape == X.shape
    assert ae.decode(ae.features(X)).shape == X.shape
    ae.fit(X, epochs=1, batch_size=4, random_state=0, verbose=False)
    assert np.isfinite(ae.history_["loss"][0])


@pytest.mark.parametrize("build, message", [
    (lambda: mnist_conv_autoencoder(image_size=10),
     r"mnist_conv_autoencoder: expected image height and width divisible by 4 \(two 2x2 "
     r"poolings, undone by two 2x up-samplings\), got 10x10; pad or crop"),
    (lambda: pool_autoencoder(image_size=(32, 30)), r"divisible by 4 .* got 32x30"),
    (lambda: cifar_autoencoder(image_size=28),
     r"cifar_autoencoder: expected .* divisible by 8 \(three stride-2 convolutions\), "
     r"got 28x28"),
    (lambda: cifar_autoencoder(image_size=(8, 8, 8)), r"image_size as a positive int or "
                                                      r"\(height, width\), got \(8, 8, 8\)"),
    (lambda: mnist_conv_autoencoder(image_size=0), "image_size as a positive int"),
    (lambda: pool_autoencoder(in_channels=0), "expected in_channels a positive int, got 0"),
])
def test_conv_autoencoders_refuse_sizes_they_cannot_reconstruct(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_training_defaults_follow_the_write_ups():
    assert (mnist_conv_autoencoder().optimizer, mnist_conv_autoencoder().loss) == ("adadelta",
                                                                                   "bce")
    assert (cifar_autoencoder().optimizer, cifar_autoencoder().loss) == ("adam", "bce")
    assert dense_autoencoder((8, 4)).loss == "mse"


def test_dense_layers_are_activated_except_code_and_output():
    ae = dense_autoencoder((6, 5, 4, 2), activation="sigmoid", random_state=0)
    kinds = [type(layer).__name__ for layer in ae.model]
    assert kinds == ["Dense", "Sigmoid", "Dense", "Sigmoid", "Dense",     # code: linear
                     "Dense", "Sigmoid", "Dense", "Sigmoid", "Dense"]     # output: linear


def test_same_seed_same_weights_other_seed_other_weights():
    assert _same_weights(cifar_autoencoder(random_state=3), cifar_autoencoder(random_state=3))
    assert not _same_weights(cifar_autoencoder(random_state=3), cifar_autoencoder(random_state=4))


# ---- training ---------------------------------------------------------------------------

def test_a_short_fit_lowers_the_reconstruction_loss():
    rng = np.random.default_rng(0)
    X = _blobs(rng, 64, (3, 32, 32))
    # BCE against non-binary targets cannot go below their entropy: judge the excess over it.
    p = np.clip(X, 1e-7, 1 - 1e-7)
    floor = float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))
    ae = cifar_autoencoder(random_state=0)
    before = ae.model.evaluate(X, X, loss="bce") - floor
    ae.fit(X, epochs=8, batch_size=8, random_state=0, verbose=False)
    after = ae.model.evaluate(X, X, loss="bce") - floor
    assert len(ae.history_["loss"]) == 8
    assert after < 0.5 * before, (before, after)


def test_validation_loss_is_recorded():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(40, 12)).astype(np.float32)
    ae = dense_autoencoder((12, 6, 3), random_state=0)
    ae.fit(X[:32], epochs=2, validation_data=X[32:], random_state=0, verbose=False)
    assert len(ae.history_["val_loss"]) == 2 and np.all(np.isfinite(ae.history_["val_loss"]))


# ---- persistence and resuming -----------------------------------------------------------

def test_save_load_gives_identical_reconstructions_and_settings(tmp_path):
    rng = np.random.default_rng(2)
    X = _blobs(rng, 32, (1, 28, 28))
    ae = mnist_conv_autoencoder(random_state=0)
    ae.fit(X, epochs=1, batch_size=16, random_state=0, verbose=False)
    ae.save(tmp_path / "ae.npz")
    back = Autoencoder.load(tmp_path / "ae.npz")
    assert np.array_equal(back.reconstruct(X), ae.reconstruct(X))
    assert np.array_equal(back.encode(X), ae.encode(X))
    assert (back.input_shape, back.code_shape, back.loss, back.optimizer, back.batch_size) == \
        (ae.input_shape, ae.code_shape, ae.loss, ae.optimizer, ae.batch_size)
    assert back.history_ == ae.history_


@pytest.mark.parametrize("build, shape", [
    (lambda: dense_autoencoder((20, 12, 4), random_state=5), (20,)),          # Adam
    (lambda: mnist_conv_autoencoder(random_state=5), (1, 28, 28)),            # Adadelta
])
def test_resumed_training_equals_uninterrupted(tmp_path, build, shape):
    rng = np.random.default_rng(3)
    X = _blobs(rng, 48, shape) if len(shape) == 3 else rng.uniform(size=(48,) + shape).astype(
        np.float32)
    straight = build()
    straight.fit(X, epochs=4, batch_size=16, random_state=7, verbose=False)

    first = build()
    first.fit(X, epochs=2, batch_size=16, random_state=7, verbose=False)
    first.save(tmp_path / "half.npz")
    resumed = Autoencoder.load(tmp_path / "half.npz")
    resumed.fit(X, epochs=4, initial_epoch=2, batch_size=16, random_state=7, verbose=False)
    assert _same_weights(resumed, straight)
    assert resumed.history_["loss"] == straight.history_["loss"]

    # Negative control: the same resume with a fresh optimizer (state lost) must differ,
    # or the comparison above would not show that the optimizer state is restored.
    fresh = Autoencoder.load(tmp_path / "half.npz")
    opt = type(fresh.optimizer_)(fresh.model.parameters(), **fresh.optimizer_kwargs)
    fresh.fit(X, epochs=4, initial_epoch=2, batch_size=16, random_state=7, verbose=False,
              optimizer=opt)
    assert not _same_weights(fresh, straight)


def test_denoising_noise_hides_inputs_not_targets_and_resumes_exactly(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.uniform(size=(48, 20)).astype(np.float32)
    seen = []

    def spy(xb, noise_rng):  # what the network is given, batch by batch
        out = masking_noise(0.5)(xb, noise_rng)
        seen.append((xb.copy(), out))
        return out

    model = dense_autoencoder((20, 8, 4), random_state=1).model
    model.fit(X, X, loss="mse", optimizer=Adam(model.parameters()), epochs=1, batch_size=16,
              random_state=0, verbose=False, corrupt=spy)
    clean, noisy = np.concatenate([a for a, _ in seen]), np.concatenate([b for _, b in seen])
    assert sorted(map(tuple, clean)) == sorted(map(tuple, X))  # the clean batches, untouched
    hidden = (noisy == 0) & (clean != 0)
    assert 0.4 < hidden.mean() < 0.6 and np.array_equal(noisy[~hidden], clean[~hidden])

    plain = dense_autoencoder((20, 8, 4), random_state=1)
    plain.fit(X, epochs=2, batch_size=16, random_state=7, verbose=False)
    straight = dense_autoencoder((20, 8, 4), random_state=1)
    straight.fit(X, epochs=2, batch_size=16, random_state=7, verbose=False, noise=0.3)
    assert not _same_weights(plain, straight)  # the noise changes the training
    first = dense_autoencoder((20, 8, 4), random_state=1)
    first.fit(X, epochs=1, batch_size=16, random_state=7, verbose=False, noise=0.3)
    first.save(tmp_path / "half.npz")
    resumed = Autoencoder.load(tmp_path / "half.npz")
    resumed.fit(X, epochs=2, initial_epoch=1, batch_size=16, random_state=7, verbose=False,
                noise=0.3)
    assert _same_weights(resumed, straight)  # same noise after resuming


def test_steps_and_noise_resume_from_a_saved_epoch(tmp_path):
    """48 images, batch 16: 3 steps per epoch; 7 steps = 2 epochs and one step, as Adam's
    step counter says; cut after epoch 2, saved, loaded and resumed with the same steps it
    ends on the same weights."""
    X = np.random.default_rng(5).uniform(size=(48, 20)).astype(np.float32)

    def build():
        return dense_autoencoder((20, 8, 4), random_state=2)

    straight = build()
    straight.fit(X, steps=7, batch_size=16, random_state=3, verbose=False, noise=0.2)
    assert straight.optimizer_.t == 7 and len(straight.history_["loss"]) == 3
    first = build()
    first.fit(X, epochs=2, batch_size=16, random_state=3, verbose=False, noise=0.2)
    first.save(tmp_path / "cut.npz")
    resumed = Autoencoder.load(tmp_path / "cut.npz")
    resumed.fit(X, steps=7, initial_epoch=2, batch_size=16, random_state=3, verbose=False,
                noise=0.2)
    assert resumed.optimizer_.t == 7 and _same_weights(resumed, straight)
    assert resumed.history_["loss"] == straight.history_["loss"]
    # without epochs or steps: the documented 10 epochs
    default = build()
    default.fit(X, batch_size=16, random_state=3, verbose=False)
    assert len(default.history_["loss"]) == 10 and default.optimizer_.t == 30
    with pytest.raises(ValueError, match="give epochs or steps, not both"):
        default.fit(X, epochs=2, steps=3, verbose=False)

@pytest.mark.parametrize("noise", [-0.1, 1.0])
def test_noise_outside_0_1_is_refused(noise):
    ae = dense_autoencoder((6, 3), random_state=0)
    with pytest.raises(ValueError, match="expected 0 <= noise < 1"):
        ae.fit(np.zeros((4, 6), np.float32), epochs=1, verbose=False, noise=noise)


# ---- bad input --------------------------------------------------------------------------

def test_wrong_input_shape_names_expected_and_actual():
    ae = mnist_conv_autoencoder(random_state=0)
    X = np.zeros((8, 28, 28, 1), np.float32)                 # NHWC instead of NCHW
    expected = r"expected input \(N, 1, 28, 28\), got \(8, 28, 28, 1\)"
    for method in (ae.encode, ae.reconstruct, ae.features):
        with pytest.raises(ValueError, match=expected):
            method(X)
    with pytest.raises(ValueError, match=r"expected input \(N, 1, 28, 28\)"):
        ae.fit(X, epochs=1, verbose=False)
    with pytest.raises(TypeError, match="expected an ndarray, got list"):
        ae.encode([[0.0]])


def test_decode_checks_the_code_width():
    ae = cifar_autoencoder(random_state=0)
    with pytest.raises(ValueError, match=r"expected codes .* or \(N, 512\), got \(2, 100\)"):
        ae.decode(np.zeros((2, 100), np.float32))


@pytest.mark.parametrize("kwargs, message", [
    ({"dims": (784,)}, "at least two positive widths, got \\(784,\\)"),
    ({"dims": (784, 0, 10)}, "at least two positive widths"),
    ({"activation": "tanh"}, "activation must be one of \\['relu', 'sigmoid'\\], got 'tanh'"),
])
def test_dense_autoencoder_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dense_autoencoder(**kwargs)


def test_autoencoder_rejects_unknown_loss_and_optimizer():
    enc, dec = Sequential([Dense(4, 2, random_state=0)]), Sequential([Dense(2, 4, random_state=0)])
    with pytest.raises(ValueError, match="loss must be one of .* got 'l1'"):
        Autoencoder(enc, dec, (4,), loss="l1")
    with pytest.raises(ValueError, match="optimizer must be one of .* got 'rmsprop'"):
        Autoencoder(enc, dec, (4,), optimizer="rmsprop")


def test_load_refuses_a_plain_model_file(tmp_path):
    model = Sequential([Dense(4, 2, random_state=0), ReLU()])
    model.save(tmp_path / "plain.npz", optimizer=Adam(model.parameters()))
    with pytest.raises(ValueError, match="no autoencoder metadata"):
        Autoencoder.load(tmp_path / "plain.npz")
