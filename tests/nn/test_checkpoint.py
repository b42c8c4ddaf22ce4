"""Save / load / resume: identical predictions, bit-identical resumed training, no half files,
clear errors on corrupt or foreign files."""
import json
import os

import numpy as np
import pytest

import scratchnet.nn.checkpoint as ckpt
from scratchnet.nn import (Adam, Callback, Conv2D, Dense, Flatten, ModelCheckpoint, ReLU,
                           Sequential, Sigmoid, load_checkpoint, load_model)


def _model(seed=0):
    r = np.random.default_rng(seed).spawn(3)
    return Sequential([Dense(12, 6, random_state=r[0]), ReLU(), Dense(6, 3, random_state=r[1]),
                       ReLU(), Dense(3, 12, random_state=r[2]), Sigmoid()])


def _data(seed=60, n=40):
    return np.random.default_rng(seed).uniform(size=(n, 12)).astype(np.float32)


def test_save_load_gives_identical_predictions_and_optimizer(tmp_path):
    X = _data()
    model = _model()
    opt = Adam(model.parameters(), lr=3e-3)
    model.fit(X, X, loss="bce", optimizer=opt, epochs=2, batch_size=8, random_state=1,
              verbose=False)
    path = tmp_path / "ae.npz"
    model.save(path, optimizer=opt)
    loaded, opt2, state = load_checkpoint(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [type(a) for a in loaded] == [type(a) for a in model]
    assert loaded.get_config() == model.get_config()
    assert all(p.value.dtype == np.float32 for p in loaded.parameters())
    assert type(opt2) is Adam and opt2.get_config() == opt.get_config() and opt2.t == opt.t
    for a, b in zip(opt2.m + opt2.v, opt.m + opt.v):
        np.testing.assert_array_equal(a, b)
    assert all(p is q for p, q in zip(opt2.params, loaded.parameters()))
    assert state["epoch"] == 0 and len(state["history"].epoch) == 0
    np.testing.assert_array_equal(load_model(path).predict(X), model.predict(X))
    assert [f.name for f in tmp_path.iterdir()] == ["ae.npz"]  # no temporary left behind


class _StopAfter(Callback):
    """Simulates Ctrl-C at the end of an epoch (after the checkpoint callback has run)."""

    def __init__(self, epoch):
        self.stop = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.stop:
            raise KeyboardInterrupt


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    X, Xv = _data(61, 50), _data(62, 10)
    kw = dict(loss="bce", epochs=5, batch_size=8, validation_data=(Xv, Xv), verbose=False)

    model = _model(3)
    full = model.fit(X, X, optimizer=Adam(model.parameters(), lr=1e-2), random_state=11,
                     callbacks=[ModelCheckpoint(tmp_path / "full.npz")], **kw)
    expected = [p.value.copy() for p in model.parameters()]

    path = tmp_path / "run.npz"
    model = _model(3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, X, optimizer=Adam(model.parameters(), lr=1e-2), random_state=11,
                  callbacks=[ModelCheckpoint(path), _StopAfter(1)], **kw)
    model, opt, state = load_checkpoint(path)
    assert state["epoch"] == 2 and state["seed"] == 11 and state["history"].epoch == [0, 1]
    hist = model.fit(X, X, optimizer=opt, random_state=state["seed"],
                     initial_epoch=state["epoch"], history=state["history"],
                     callbacks=[ModelCheckpoint(path)], **kw)
    for got, want in zip(model.parameters(), expected):
        np.testing.assert_array_equal(got.value, want)
    assert hist.epoch == full.epoch == [0, 1, 2, 3, 4]
    assert hist.history == full.history
    assert load_checkpoint(path)[2]["epoch"] == 5


def test_resume_with_a_drawn_seed(tmp_path):
    """random_state=None draws a seed; the checkpoint keeps it, so resuming still works."""
    X = _data(63, 24)
    path = tmp_path / "ae.npz"
    model = _model(4)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, X, loss="mse", optimizer=Adam(model.parameters()), epochs=3, batch_size=5,
                  callbacks=[ModelCheckpoint(path), _StopAfter(0)], verbose=False)
    _, _, state = load_checkpoint(path)
    assert isinstance(state["seed"], int) and state["epoch"] == 1


def test_interrupted_write_leaves_the_previous_file(tmp_path, monkeypatch):
    X = _data()
    model = _model()
    path = tmp_path / "ae.npz"
    model.save(path)
    before = model.predict(X)
    model.parameters()[0].value += 1.0

    def savez_then_ctrl_c(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.np, "savez", savez_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load_model(path).predict(X), before)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["ae.npz"]


def test_corrupt_and_foreign_files_raise_clear_errors(tmp_path):
    good = tmp_path / "good.npz"
    _model().save(good)
    raw = good.read_bytes()

    # truncated, empty and random files are one ValueError naming the file, with
    # what to do; never BadZipFile / EOFError, never numpy's "allow_pickle" hint
    for name, content in (("truncated.npz", raw[: len(raw) // 2]), ("empty.npz", b""),
                          ("noise.npz", np.random.default_rng(64).bytes(500)),
                          ("tail.npz", raw[: len(raw) - 10])):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(ValueError) as info:
            load_model(bad)
        message = str(info.value)
        assert f"{str(bad)!r} is not a readable checkpoint" in message
        assert "truncated, or written by another program?" in message
        assert "without --resume" in message and "delete the file" in message
        assert "allow_pickle" not in message and "\n" not in message

    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"not a scratchnet model: expected key "
                                         r"'__scratchnet__', got keys \['weights'\]"):
        load_model(foreign)

    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ValueError, match="it is a single .npy array, not an .npz archive"):
        load_model(npy)

    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def _rewrite(src, dst, edit_meta=None, drop=(), extra=None):
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k not in drop}
    meta = json.loads(str(arrays["__scratchnet__"]))
    if edit_meta:
        edit_meta(meta)
    arrays["__scratchnet__"] = np.array(json.dumps(meta))
    arrays.update(extra or {})
    np.savez(dst, **arrays)
    return dst


def test_missing_mismatched_or_unknown_content_raises(tmp_path):
    good = tmp_path / "good.npz"
    model = _model()
    model.save(good, optimizer=Adam(model.parameters()))

    def widen(meta):
        meta["layers"][2]["config"]["out_features"] = 4
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\), weight 'param.2.W': the layer's "
                                         r"config expects shape \(6, 4\), the file holds "
                                         r"\(6, 3\)"):
        load_model(_rewrite(good, tmp_path / "a.npz", edit_meta=widen))
    with pytest.raises(ValueError, match=r"weight 'param.4.b': missing \(expected shape "
                                         r"\(12,\)\)"):
        load_model(_rewrite(good, tmp_path / "b.npz", drop=["param.4.b"]))
    with pytest.raises(ValueError, match=r"unexpected weights \['param.9.W'\]"):
        load_model(_rewrite(good, tmp_path / "c.npz", extra={"param.9.W": np.ones(2)}))

    def rename(meta):
        meta["layers"][1]["class"] = "Softmax"
    with pytest.raises(ValueError, match=r"unknown layer class 'Softmax'; expected one of "
                                         r"\[.*'Dense'.*\]"):
        load_model(_rewrite(good, tmp_path / "d.npz", edit_meta=rename))

    def future(meta):
        meta["version"] = 99
    with pytest.raises(ValueError, match="expected format 'scratchnet.Sequential' version 1, "
                                         "got 'scratchnet.Sequential' version 99"):
        load_model(_rewrite(good, tmp_path / "e.npz", edit_meta=future))
    with pytest.raises(ValueError, match="missing optimizer state"):
        load_checkpoint(_rewrite(good, tmp_path / "f.npz", drop=["optimizer.v.3"]))


def test_layers_are_looked_up_among_everything_scratchnet_nn_exports(tmp_path):
    """Not a hard-coded list: the conv layers (another module) load too."""
    rng = np.random.default_rng(65)
    model = Sequential([Conv2D(2, 3, 3, stride=2, random_state=0), ReLU(), Flatten(),
                        Dense(3 * 3 * 3, 4, random_state=1)])
    x = rng.standard_normal((5, 2, 6, 6)).astype(np.float32)
    path = tmp_path / "conv.npz"
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(x), model.predict(x))


def test_saved_file_is_readable_without_pickle_and_names_its_content(tmp_path):
    path = tmp_path / "ae.npz"
    model = _model()
    model.save(path, optimizer=Adam(model.parameters()))
    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        meta = json.loads(str(f["__scratchnet__"]))
    assert {"param.0.W", "param.0.b", "optimizer.m.0", "optimizer.v.5"} <= keys
    assert meta["layers"][0] == {"class": "Dense", "config": {"in_features": 12,
                                                              "out_features": 6,
                                                              "dtype": "float32"}}
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask   # as open() would make it


def test_optimizer_on_part_of_the_model_round_trips(tmp_path):
    model = _model()
    opt = Adam(model[2:].parameters(), lr=1e-2)  # e.g. fine-tuning the decoder only
    X = _data()
    model.fit(X, X, loss="mse", optimizer=opt, batch_size=10, random_state=0, verbose=False)
    path = tmp_path / "ae.npz"
    model.save(path, optimizer=opt)
    loaded, opt2, _ = load_checkpoint(path)
    assert len(opt2.params) == 4 and all(
        p is q for p, q in zip(opt2.params, loaded[2:].parameters()))
    for a, b in zip(opt2.v, opt.v):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"the optimizer's params \[0, 1\] are not parameters"):
        _model().save(tmp_path / "other.npz", optimizer=Adam(_model().parameters()[:2]))


def test_the_known_classes_are_every_layer_and_optimizer_scratchnet_nn_exports():
    """LAYERS and OPTIMIZERS are written out by hand: a new exported class must be added."""
    import scratchnet.nn as nn
    from scratchnet.nn.base import Layer
    from scratchnet.nn.checkpoint import LAYERS, OPTIMIZERS
    from scratchnet.nn.optim import Optimizer

    def exported(base):
        return {k: v for k, v in vars(nn).items()
                if isinstance(v, type) and issubclass(v, base) and v is not base}
    assert LAYERS == exported(Layer)
    assert OPTIMIZERS == exported(Optimizer)
    assert all(name == cls.__name__ for name, cls in {**LAYERS, **OPTIMIZERS}.items())


def test_the_model_does_not_import_checkpointing():
    """One way only: saving <- model <- checkpoint. No module below checkpoint imports it
    (not even inside a function)."""
    import ast
    from pathlib import Path
    folder = Path(ckpt.__file__).parent
    for module in ("model", "callbacks", "saving", "_parallel", "base"):
        tree = ast.parse((folder / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        assert not any(m.endswith("checkpoint") for m in imported), module
        if module in ("callbacks", "saving"):   # writing needs no model class
            assert "model" not in imported, module
