"""``Autoencoder`` faults: bad sizes are refused, unscaled images and a diverging run
stop with one clear error, a corrupt file names itself. Each test fails on the code before."""
import json

import numpy as np
import pytest

from scratchnet._io import read_npz
from scratchnet.models import Autoencoder, dense_autoencoder
from scratchnet.nn import Dense, Sequential, Sigmoid, TrainingDivergedError


def _ae(loss="mse", **kwargs):
    ae = dense_autoencoder(dims=(8, 4, 2), random_state=0)
    return Autoencoder(ae.encoder, ae.decoder, (8,), loss=loss, **kwargs)


def _X(n=48):
    return np.random.default_rng(3).uniform(size=(n, 8)).astype(np.float32)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0, "epochs": 1}, "Autoencoder.fit: batch_size must be a positive int, got 0"),
    ({"batch_size": -8, "epochs": 1},
     "Autoencoder.fit: batch_size must be a positive int, got -8"),
    ({"batch_size": 4.0, "epochs": 1},
     r"Autoencoder.fit: batch_size must be a positive int, got 4\.0"),
    ({"epochs": 0}, "fit: epochs must be a positive int, got 0"),
    ({"epochs": -1}, "fit: epochs must be a positive int, got -1"),
    ({"steps": 0}, "fit: steps must be a positive int, got 0"),
])
def test_fit_refuses_non_positive_sizes(kwargs, message):
    """batch_size=0 used to fall back silently to 64, and epochs=0 to train nothing."""
    ae = _ae()
    with pytest.raises(ValueError, match=message):
        ae.fit(_X(), verbose=False, **kwargs)
    assert ae.history_["loss"] == []


def test_constructor_refuses_a_non_positive_batch_size():
    with pytest.raises(ValueError, match="Autoencoder: batch_size must be a positive int, got 0"):
        _ae(batch_size=0)


def test_bce_autoencoder_on_unscaled_images_says_to_divide_by_255():
    ae = Autoencoder(Sequential([Dense(8, 2, random_state=0)]),
                     Sequential([Dense(2, 8, random_state=1), Sigmoid()]), (8,), loss="bce")
    with pytest.raises(ValueError, match=r"BCELoss: expected targets in \[0, 1\], got values "
                                         r"from .* to .*divide 0\.\.255 pixels by 255"):
        ae.fit(_X() * 255, epochs=1, verbose=False)


def test_fit_at_a_huge_learning_rate_stops_with_a_clear_error(tmp_path):
    ae = _ae(optimizer="sgd", optimizer_kwargs={"lr": 50.0})
    X = np.random.default_rng(4).standard_normal((48, 8)).astype(np.float32) * 10
    with pytest.warns(RuntimeWarning), pytest.raises(TrainingDivergedError,
                                                     match=r"lower the learning rate \(lr=50\)"):
        ae.fit(X, epochs=30, batch_size=16, verbose=False, random_state=0)
    ae.save(tmp_path / "ae.npz")      # the skipped update kept the weights finite: saveable
    assert all(np.isfinite(p.value).all() for p in ae.model.parameters())


def test_load_with_corrupt_autoencoder_metadata_names_the_file(tmp_path):
    path = tmp_path / "ae.npz"
    _ae().save(path)
    data = read_npz(path, "test")
    meta = json.loads(str(data["__scratchnet__"]))
    del meta["state"]["autoencoder"]["input_shape"]
    data["__scratchnet__"] = np.array(json.dumps(meta))
    np.savez(path, **data)
    with pytest.raises(ValueError, match=r"Autoencoder.load: the autoencoder metadata in .*ae.npz "
                                         r"is corrupt \(KeyError: 'input_shape'\)"):
        Autoencoder.load(path)


def test_fit_states_its_loss_and_optimizer_where_it_trains(tmp_path):
    """``fit(loss=..., optimizer=...)``: the same training as the constructor's defaults when
    they agree, another loss when asked (kept on save), and a clear error for an unknown one."""
    from scratchnet.models import dense_autoencoder
    from scratchnet.nn import Adam
    X = np.random.default_rng(0).random((64, 12)).astype(np.float32)
    by_default = dense_autoencoder((12, 8, 3), random_state=0)
    by_default.fit(X, epochs=2, batch_size=16, random_state=0, verbose=False)
    stated = dense_autoencoder((12, 8, 3), random_state=0)
    stated.fit(X, loss="mse", optimizer=Adam(stated.model.parameters(), lr=1e-3), epochs=2,
               batch_size=16, random_state=0, verbose=False)
    assert stated.history_ == by_default.history_
    bce = dense_autoencoder((12, 8, 3), random_state=0)
    bce.fit(X, loss="bce", epochs=1, batch_size=16, random_state=0, verbose=False)
    assert bce.loss == "bce" and bce.history_["loss"] != by_default.history_["loss"][:1]
    bce.save(tmp_path / "ae.npz")
    assert type(bce).load(tmp_path / "ae.npz").loss == "bce"
    with pytest.raises(ValueError, match=r"expected loss in \['bce', 'mse'\], got 'l1'"):
        bce.fit(X, loss="l1", epochs=1, verbose=False)
