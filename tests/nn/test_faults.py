"""Faults in training and in its files: each test fails on the code before the fix.

- BCE refuses targets outside [0, 1] (images left in 0..255 trained to a loss of -1479).
- a diverging run stops at the first NaN/inf loss, and NaN weights are never saved.
- one atomic write: usual permissions, no temporary left behind, stale ones removed.
- bad epochs are refused; a crafted config cannot make ``load`` allocate before checking.
"""
import io
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from scratchnet._io import atomic_write, read_npz, remove_stale_temporaries
from scratchnet.nn import (SGD, Adam, BCELoss, Dense, ModelCheckpoint, ReLU, Sequential, Sigmoid,
                           TrainingDivergedError, load_checkpoint, load_model)


def _ae(seed=0):
    r = np.random.default_rng(seed).spawn(2)
    return Sequential([Dense(8, 3, random_state=r[0]), ReLU(), Dense(3, 8, random_state=r[1]),
                       Sigmoid()])


def _X(seed=1, n=64):
    return np.random.default_rng(seed).uniform(size=(n, 8)).astype(np.float32)


# -- R6: BCE targets --------------------------------------------------------------------------

@pytest.mark.parametrize("scale, shift", [(255.0, 0.0), (1.0, -0.5)])
def test_bce_refuses_targets_outside_unit_interval(scale, shift):
    pred = np.full((4, 8), 0.5, dtype=np.float32)
    target = _X(n=4) * scale + shift
    with pytest.raises(ValueError, match=r"BCELoss: expected targets in \[0, 1\], got values "
                                         r"from .* to .*; scale the images to \[0, 1\] first "
                                         r"\(e\.g\. divide 0\.\.255 pixels by 255\)"):
        BCELoss()(pred, target)


def test_bce_refuses_nan_targets_and_accepts_the_bounds():
    pred = np.full((1, 3), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="expected targets in"):
        BCELoss()(pred, np.array([[0.0, np.nan, 1.0]], dtype=np.float32))
    assert np.isfinite(BCELoss()(pred, np.array([[0.0, 0.5, 1.0]], dtype=np.float32)))


def test_fit_with_bce_on_unscaled_images_stops_on_the_first_batch():
    X = _X() * 255                 # forgot the / 255
    model = _ae()
    with pytest.raises(ValueError, match="divide 0..255 pixels by 255"):
        model.fit(X, X, loss="bce", optimizer=Adam(model.parameters()), epochs=1,
                  batch_size=64, verbose=False, random_state=0)


# -- R7: divergence ---------------------------------------------------------------------------

def _diverge(model, callbacks=(), epochs=20):
    X = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float32)
    return model.fit(X, X, loss="mse", optimizer=SGD(model.parameters(), lr=50.0),
                     epochs=epochs, batch_size=16, random_state=0, verbose=False,
                     callbacks=callbacks)


def _linear(seed=0):
    r = np.random.default_rng(seed).spawn(2)
    return Sequential([Dense(8, 3, random_state=r[0]), ReLU(), Dense(3, 8, random_state=r[1])])


def test_fit_stops_at_the_first_non_finite_loss_naming_epoch_step_and_lr():
    model = _linear()
    with pytest.warns(RuntimeWarning), pytest.raises(TrainingDivergedError) as info:
        _diverge(model)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith("fit: the loss became ") and " at epoch " in message
    assert ", step " in message and "lower the learning rate (lr=50)" in message
    # the step whose loss was NaN/inf did not update: the weights are those before it
    assert all(np.isfinite(p.value).all() for p in model.parameters())


def test_huge_inputs_are_named_as_the_cause_not_the_learning_rate():
    """Inputs of 1e30 overflow float32 at any learning rate: the message says to scale them."""
    from scratchnet.nn import Adam
    model = _linear()
    X = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float32) * 1e30
    with pytest.warns(RuntimeWarning), pytest.raises(TrainingDivergedError) as info:
        model.fit(X, X, loss="mse", optimizer=Adam(model.parameters(), lr=1e-4), epochs=1,
                  batch_size=16, random_state=0, verbose=False)
    message = str(info.value)
    assert "its inputs reach" in message and "e+30, expected values of order 1" in message
    assert "scale them first" in message and "lower the learning rate" not in message


def test_a_diverged_run_never_writes_non_finite_weights_to_its_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    epochs_saved = []

    class Spy(ModelCheckpoint):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            epochs_saved.append(epoch)

    with pytest.warns(RuntimeWarning), pytest.raises(TrainingDivergedError):
        _diverge(_linear(), callbacks=[Spy(path)])
    if path.exists():              # earlier, finite epochs may have been saved: only those
        model, _, state = load_checkpoint(path)
        assert state["epoch"] == len(epochs_saved)
        assert all(np.isfinite(p.value).all() for p in model.parameters())


def test_save_refuses_non_finite_weights_and_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.npz"
    model = _ae()
    model.save(path)
    before = path.read_bytes()
    model.parameters()[0].value[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"save: refusing to save non-finite \(NaN/inf\) "
                                         r"weights in \['0.W'\]; .*lower the learning rate"):
        model.save(path)
    checkpoint = ModelCheckpoint(path)
    checkpoint.model, checkpoint.history = model, None
    with pytest.raises(ValueError, match="refusing to save non-finite"):
        checkpoint.on_epoch_end(0, {})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


# -- R10: the atomic write ----------------------------------------------------------------------

def test_saved_files_get_the_usual_permissions(tmp_path):
    """Checkpoints were chmod-ed to 0644 whatever the umask, metrics.json and train.json
    (``pipeline.write_json``) left at mkstemp's 0600: now all follow the umask, like figures."""
    from scratchnet._io import write_json
    before = os.umask(0o027)       # not the usual 022, so a hard-coded 0644 shows
    try:
        _ae().save(tmp_path / "model.npz")
        write_json(tmp_path / "metrics.json", {"acc": 0.5})
        atomic_write(tmp_path / "a.txt", lambda f: f.write("x"), binary=False)
    finally:
        os.umask(before)
    for name in ("model.npz", "metrics.json", "a.txt"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640, name
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"acc": 0.5}
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "metrics.json", "model.npz"]


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_save_removes_its_targets_stale_temporaries_and_nothing_else(tmp_path):
    dead = _dead_pid()
    stale = [f".model.npz.{dead}.0123abcd.tmp", f".model.npz.{dead}.ffffffff.tmp"]
    kept = [f".model.npz.{os.getppid()}.0123abcd.tmp",   # a live process: maybe still writing
            f".other.npz.{dead}.0123abcd.tmp",            # another target's
            f".model.npz.{dead}.0123abcd.tmp.bak",        # not the pattern
            f".model.npz.{dead}.xyz.tmp", "model.npz.tmp", ".model.npz.notes"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    # an earlier version's mkstemp leftovers: removed once untouched for an hour
    old, recent = ".model.npz.k3_x9qzt.tmp", ".model.npz.a1b2c3d4.tmp"
    for name in (old, recent):
        (tmp_path / name).write_bytes(b"partial")
    os.utime(tmp_path / old, (0, os.stat(tmp_path / old).st_mtime - 7200))
    kept.append(recent)
    _ae().save(tmp_path / "model.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["model.npz"])
    assert remove_stale_temporaries(tmp_path / "model.npz") == []


def test_a_failed_or_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")

    def boom(f):
        f.write(b"half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, boom)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.json"]


# -- R11: epochs, and loading a crafted config --------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "fit: epochs must be a positive int, got 0"),
    ({"epochs": -2}, "fit: epochs must be a positive int, got -2"),
    ({"epochs": 2.5}, r"fit: epochs must be a positive int, got 2\.5"),
    ({"epochs": 2, "initial_epoch": -1}, "fit: initial_epoch must be a non-negative int, got -1"),
])
def test_fit_refuses_non_positive_epochs(kwargs, message):
    X, model = _X(), _ae()
    with pytest.raises(ValueError, match=message):
        model.fit(X, X, loss="mse", optimizer=Adam(model.parameters()), verbose=False,
                  **kwargs)


def _with_config(src, dst, layer, config):
    data = read_npz(src, "test")
    meta = json.loads(str(data["__scratchnet__"]))
    meta["layers"][layer]["config"].update(config)
    data["__scratchnet__"] = np.array(json.dumps(meta))
    np.savez(dst, **data)
    return dst


def test_a_huge_layer_config_is_refused_before_anything_is_allocated(tmp_path):
    good = tmp_path / "good.npz"
    _ae().save(good)
    crafted = _with_config(good, tmp_path / "crafted.npz", 0,
                           {"in_features": 10 ** 6, "out_features": 10 ** 5})
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            load_model(crafted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"load: {str(crafted)!r}, layer 0 (Dense), weight 'param.0.W': the layer's config "
        "expects shape (1000000, 100000), the file holds (8, 3)")
    assert peak < 10 * 2 ** 20      # the config asks for 400 GB; loading used well under 10 MB


def test_an_allocatable_but_wrong_config_allocates_nothing_either(tmp_path):
    good = tmp_path / "good.npz"
    _ae().save(good)
    crafted = _with_config(good, tmp_path / "crafted.npz", 2, {"out_features": 3000})
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"layer 2 \(Dense\), weight 'param.2.W'"):
            load_model(crafted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 ** 20           # Dense(3, 3000) would have drawn float64 weights first


def test_an_array_header_larger_than_its_bytes_is_refused_unread(tmp_path):
    # a 200-byte .npz member whose header declares a (10**6, 10**5) float32 array (400 GB)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10 ** 6, 10 ** 5)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", header.getvalue() + bytes(16))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb.npz' is not a readable checkpoint \(array "
                                             r"'a.npy' declares shape \(1000000, 100000\) "
                                             r"\(400,000,000,000 bytes\) but stores \d+\)"):
            read_npz(path, "load")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 ** 20


def test_write_json_is_strict_json_and_keeps_where_the_non_finite_values_were(tmp_path):
    """NaN and infinities become null (other languages' parsers reject NaN/Infinity), and
    the file says where each was and what."""
    from scratchnet._io import write_json
    path = tmp_path / "metrics.json"
    write_json(path, {"acc": np.float32(0.5), "history": {"loss": [1.0, float("nan")]},
                      "best": np.inf, "scores": np.array([0.1, -np.inf]), "n": np.int64(3)})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    assert data["history"]["loss"] == [1.0, None] and data["best"] is None
    assert data["scores"] == [pytest.approx(0.1), None] and data["n"] == 3
    assert data["non_finite"] == {"history.loss[1]": "nan", "best": "inf",
                                  "scores[1]": "-inf"}
    write_json(path, {"acc": 0.9})
    assert "non_finite" not in json.loads(path.read_text())
