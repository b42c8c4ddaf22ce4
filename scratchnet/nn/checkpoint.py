r"""Saving, loading and resuming: ``History``, callbacks, ``ModelCheckpoint``, the ``.npz`` format.

One file holds everything (loaded with ``allow_pickle=False``, so opening a file can never run
code):

==============================  ==============================================================
key                             content
==============================  ==============================================================
``__scratchnet__``              JSON: format and version, each layer's class name and
                                ``get_config()``, the optimizer's class, config, step count
                                and which model parameters it holds, and a free ``state``
                                (``ModelCheckpoint`` puts the next epoch, the shuffling seed
                                and the history there)
``param.<layer>.<attr>``        each weight, e.g. ``param.0.W``
``optimizer.<slot>.<j>``        the optimizer's state arrays, e.g. ``optimizer.m.3``
==============================  ==============================================================

Files are written to a temporary file in the target's folder, flushed, and ``os.replace``-d over
the target: an interruption (even ``KeyboardInterrupt``) leaves the previous complete file.

Resuming, with the same data, loss and ``epochs``:

.. code-block:: python

    model, optimizer, state = load_checkpoint("ae.npz")
    model.fit(X, X, loss=MSELoss(), optimizer=optimizer, epochs=50,
              initial_epoch=state["epoch"], random_state=state["seed"],
              history=state["history"], callbacks=[ModelCheckpoint("ae.npz")])

gives the same weights, bit for bit, as a run that was never interrupted. The same holds for
a run sized by ``steps=`` (resumed with the same ``steps``). A checkpoint written after a
partial last epoch (where ``steps`` ran out) counts that epoch as done, so continuing it with a
larger ``steps`` is not the same as one longer run; see :meth:`Sequential.fit`.
"""
import importlib
import json
import os
import tempfile
import zipfile

import numpy as np

from .base import Layer

__all__ = ["History", "Callback", "ModelCheckpoint", "save_model", "load_model",
           "load_checkpoint"]

_FORMAT, _VERSION = "scratchnet.Sequential", 1
_META = "__scratchnet__"


class History:
    """Per-epoch logs, as Keras's: ``history["loss"]``, ``history["val_loss"]``, ``epoch``."""

    def __init__(self, history=None, epoch=None):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = list(epoch or [])

    def append(self, epoch, logs):
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def last(self):
        """The most recent epoch's logs."""
        return {k: v[-1] for k, v in self.history.items() if v}

    def to_dict(self):
        return {"history": self.history, "epoch": self.epoch}

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("history"), d.get("epoch"))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class Callback:
    """Base class for callbacks. ``fit`` sets ``model``, ``optimizer``, ``history`` and ``seed``
    before training, then calls ``on_epoch_begin(epoch, logs)`` before each epoch,
    ``on_epoch_end(epoch, logs)`` after it and ``on_train_end(logs)`` at the end (duck-typed
    callbacks need only the methods)."""

    model = optimizer = history = seed = None

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class ModelCheckpoint(Callback):
    """After every epoch, save model, optimizer, next epoch, seed and history to ``path``.

    The write is atomic (see the module docstring); restore with :func:`load_checkpoint`.

    Parameters
    ----------
    path : str or PathLike
    save_optimizer : bool, default True
        Without it the file is a plain model (``load_model``), but training cannot resume
        exactly.
    """

    def __init__(self, path, save_optimizer=True):
        self.path = path
        self.save_optimizer = save_optimizer

    def on_epoch_end(self, epoch, logs):
        state = {"epoch": int(epoch) + 1, "seed": self.seed,
                 "history": self.history.to_dict() if self.history is not None else None}
        save_model(self.model, self.path, state=state,
                   optimizer=self.optimizer if self.save_optimizer else None)


# ---- writing -------------------------------------------------------------------------------

def _atomic_savez(path, arrays):
    """``np.savez`` into a temporary file beside ``path``, then ``os.replace`` it over ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary behind
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_model(model, path, optimizer=None, state=None):
    """Write ``model`` (a Sequential), optionally ``optimizer`` and a JSON-able ``state``."""
    named = model.named_parameters()
    meta = {"format": _FORMAT, "version": _VERSION, "state": state, "optimizer": None,
            "layers": [{"class": layer.name, "config": layer.get_config()}
                       for layer in model.layers]}
    arrays = {f"param.{name}": p.value for name, p in named}
    if optimizer is not None:
        index_of = {id(p): i for i, (_, p) in enumerate(named)}
        missing = [j for j, p in enumerate(optimizer.params) if id(p) not in index_of]
        if missing:
            raise ValueError(f"save: the optimizer's params {missing} are not parameters of "
                             "this model")
        meta["optimizer"] = {"class": optimizer.name, "config": optimizer.get_config(),
                             "t": optimizer.t, "slots": list(optimizer._slots),
                             "param_index": [index_of[id(p)] for p in optimizer.params]}
        for slot in optimizer._slots:
            for j, a in enumerate(getattr(optimizer, slot)):
                arrays[f"optimizer.{slot}.{j}"] = a
    arrays[_META] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


# ---- reading -------------------------------------------------------------------------------

def _read(path):
    where = f"load: expected a scratchnet .npz file at {os.fspath(path)!r}"
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError(f"{where}, got a single .npy array")
        with f:
            data = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        if str(e).startswith(where):
            raise
        raise ValueError(f"{where}, but it cannot be read ({type(e).__name__}: {e})") from e
    if _META not in data:
        raise ValueError(f"load: {os.fspath(path)!r} is an .npz file but not a scratchnet model: "
                         f"expected key {_META!r}, got keys {sorted(data)[:8]}")
    try:
        meta = json.loads(str(data.pop(_META)))
        ok = meta.get("format") == _FORMAT and isinstance(meta.get("layers"), list)
    except (json.JSONDecodeError, AttributeError) as e:
        raise ValueError(f"load: the architecture record in {os.fspath(path)!r} is corrupt "
                         f"({e})") from e
    if not ok or meta.get("version") != _VERSION:
        raise ValueError(f"load: expected format {_FORMAT!r} version {_VERSION}, got "
                         f"{meta.get('format')!r} version {meta.get('version')!r}")
    return meta, data


def _exported(base):
    """Name -> class for every subclass of ``base`` exported from ``scratchnet.nn``."""
    pkg = importlib.import_module(__package__)
    return {k: v for k, v in vars(pkg).items()
            if isinstance(v, type) and issubclass(v, base) and v is not base}


def _build(kind, classes, spec, *args):
    cls = classes.get(spec.get("class"))
    if cls is None:
        raise ValueError(f"load: unknown {kind} class {spec.get('class')!r}; expected one of "
                         f"{sorted(classes)} (those exported from scratchnet.nn)")
    try:
        return cls(*args, **spec.get("config", {}))
    except (TypeError, ValueError) as e:
        raise ValueError(f"load: cannot rebuild {spec['class']} from config "
                         f"{spec.get('config')}: {e}") from e


def load_checkpoint(path):
    """Load a file written by ``save`` / ``ModelCheckpoint``.

    Returns
    -------
    model : Sequential
    optimizer : Optimizer or None
        Rebuilt on ``model``'s parameters with its state restored (None if none was saved).
    state : dict
        ``"epoch"`` (the next epoch to run, 0 if unknown), ``"seed"`` (the shuffling seed or
        None) and ``"history"`` (a :class:`History`), plus anything else that was saved.

    Raises
    ------
    ValueError
        A corrupt or foreign file, an unknown layer class, a missing, extra or mis-shaped
        weight — naming what was expected and what came.
    """
    from .model import Sequential  # here, not at the top: model imports this module
    from .optim import Optimizer

    meta, data = _read(path)
    layer_classes = _exported(Layer)
    model = Sequential([_build("layer", layer_classes, spec) for spec in meta["layers"]])
    named = model.named_parameters()
    for name, p in named:
        arr = data.pop(f"param.{name}", None)
        if arr is None:
            raise ValueError(f"load: missing weight 'param.{name}' (expected shape {p.shape})")
        if arr.shape != p.shape:
            raise ValueError(f"load: weight 'param.{name}' expected shape {p.shape}, "
                             f"got {arr.shape}")
        np.copyto(p.value, arr, casting="same_kind")
    extra = sorted(k for k in data if k.startswith("param."))
    if extra:
        raise ValueError(f"load: unexpected weights {extra[:5]} for the architecture "
                         f"(expected only {[f'param.{n}' for n, _ in named][:5]}...)")

    optimizer, spec = None, meta.get("optimizer")
    if spec is not None:
        params = [p for _, p in named]
        try:
            chosen = [params[i] for i in spec["param_index"]]
        except IndexError:
            raise ValueError(f"load: optimizer refers to parameters {spec['param_index']}, "
                             f"the model has {len(params)}") from None
        optimizer = _build("optimizer", _exported(Optimizer), spec, chosen)
        state = {"t": spec["t"]}
        for slot in spec["slots"]:
            keys = [f"optimizer.{slot}.{j}" for j in range(len(chosen))]
            if any(k not in data for k in keys):
                raise ValueError(f"load: missing optimizer state; expected {keys[:3]}..., "
                                 f"got {sorted(k for k in data if k.startswith('optimizer.'))}")
            state[slot] = [data[k] for k in keys]
        optimizer.load_state_dict(state)

    state = dict(meta.get("state") or {})
    state.setdefault("epoch", 0)
    state.setdefault("seed", None)
    state["history"] = History.from_dict(state.get("history") or {})
    return model, optimizer, state


def load_model(path):
    """Load just the model (a :class:`Sequential`) from a ``save`` / checkpoint file."""
    return load_checkpoint(path)[0]
