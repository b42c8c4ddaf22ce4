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
the target (:func:`scratchnet._io.atomic_write`): an interruption (even ``KeyboardInterrupt``)
leaves the previous complete file, and the next save removes a temporary a kill left behind.
Weights that are NaN or inf are never saved: a diverged run cannot overwrite a good checkpoint.

Loading checks before it allocates: every layer is first built with placeholder weights
(:func:`scratchnet.nn.base.weights_deferred`) and each weight's shape is compared with the
array the file holds; only then are the file's arrays installed. A crafted config asking for a
``Dense(10**6, 10**5)`` over a small file is refused with a message naming the file and the
layer, instead of trying to allocate 400 GB. An unreadable file (empty, truncated, random
bytes) is one ``ValueError`` naming it (:func:`scratchnet._io.read_npz`).

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

import numpy as np

from .._io import atomic_write, read_npz
from .base import Layer, weights_deferred

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
    """``np.savez`` into a temporary file beside ``path``, then ``os.replace`` it over ``path``
    (see :func:`scratchnet._io.atomic_write`: usual permissions, no temporary left behind)."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


def check_finite_weights(where, named):
    """Refuse to save NaN/inf weights: a diverged model must never overwrite a good file.

    ``named`` is ``[(name, Parameter)]``. One pass over the weights, small beside an epoch.
    """
    bad = [name for name, p in named if not np.isfinite(p.value).all()]
    if bad:
        raise ValueError(f"{where}: refusing to save non-finite (NaN/inf) weights in {bad[:5]}; "
                         "training diverged, so lower the learning rate and train again")


def save_model(model, path, optimizer=None, state=None):
    """Write ``model`` (a Sequential), optionally ``optimizer`` and a JSON-able ``state``.

    Raises ``ValueError`` (and writes nothing) when a weight is NaN or inf.
    """
    named = model.named_parameters()
    check_finite_weights("save", named)
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

_RESUME_HINT = (" To resume a run from it, start over without --resume instead (or delete "
                "the file).")


def _read(path):
    data = read_npz(path, "load", _RESUME_HINT)
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
        An unreadable (empty, truncated, foreign) file, an unknown layer class, a missing,
        extra or mis-shaped weight — naming the file, the layer, what was expected and what
        came. Shapes are checked before any weight is allocated.
    """
    from .model import Sequential  # here, not at the top: model imports this module
    from .optim import Optimizer

    meta, data = _read(path)
    shown = os.fspath(path)
    layer_classes = _exported(Layer)
    with weights_deferred():   # placeholders: nothing is allocated before the shapes agree
        model = Sequential([_build("layer", layer_classes, spec) for spec in meta["layers"]])
    named = model.named_parameters()
    for name, p in named:
        where = (f"load: {shown!r}, layer {name.split('.')[0]} "
                 f"({model.layers[int(name.split('.')[0])].name}), weight 'param.{name}'")
        arr = data.get(f"param.{name}")
        if arr is None:
            raise ValueError(f"{where}: missing (expected shape {p.shape})")
        if arr.shape != p.shape:
            raise ValueError(f"{where}: the layer's config expects shape {p.shape}, the file "
                             f"holds {arr.shape}")
        if not np.can_cast(arr.dtype, p.dtype, "same_kind"):
            raise ValueError(f"{where}: expected a {p.dtype} array, got {arr.dtype}")
    for name, p in named:       # every shape agrees: install the file's arrays
        p.value = np.require(data.pop(f"param.{name}"), dtype=p.dtype, requirements="CWA")
        p.grad = np.zeros_like(p.value)
    extra = sorted(k for k in data if k.startswith("param."))
    if extra:
        raise ValueError(f"load: unexpected weights {extra[:5]} in {shown!r} for the "
                         f"architecture (expected only {[f'param.{n}' for n, _ in named][:5]}...)")

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
