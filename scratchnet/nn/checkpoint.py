r"""Loading and resuming: ``load_checkpoint``, ``load_model`` and the known classes.

Reads the ``.npz`` files that :func:`scratchnet.nn.saving.save_model` writes (``Sequential.save``
and :class:`~scratchnet.nn.callbacks.ModelCheckpoint` call it; the file format is described
there). The imports run one way: this module imports the model, the layers and the optimizers,
and nothing imports it but ``scratchnet.nn`` itself. A file names its layers and optimizer by
class name; :data:`LAYERS` and :data:`OPTIMIZERS` below are the only classes it may name.

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
import json
import os

import numpy as np

from .._io import read_npz
from .activations import ReLU, Sigmoid
from .base import weights_deferred
from .callbacks import Callback, History, ModelCheckpoint
from .conv import Conv2D, Conv2DTranspose
from .dense import Dense
from .model import Sequential
from .normalize import L2Normalize
from .optim import SGD, Adadelta, Adam
from .pooling import MaxPool2D, UpSampling2D
from .reshape import Flatten, Reshape
from .saving import FORMAT, META, VERSION, check_finite_weights, save_model

# Callback, History, ModelCheckpoint, save_model and check_finite_weights are imported from here
# by older code; their homes are callbacks.py and saving.py.
__all__ = ["History", "Callback", "ModelCheckpoint", "save_model", "load_model",
           "load_checkpoint", "check_finite_weights", "LAYERS", "OPTIMIZERS"]

# Every class a file may name, by the name it stores (``Layer.name`` and ``Optimizer.name`` are
# the class names). A new layer or optimizer becomes loadable by adding it here.
LAYERS = {"Dense": Dense, "Conv2D": Conv2D, "Conv2DTranspose": Conv2DTranspose,
          "MaxPool2D": MaxPool2D, "UpSampling2D": UpSampling2D, "Flatten": Flatten,
          "Reshape": Reshape, "ReLU": ReLU, "Sigmoid": Sigmoid, "L2Normalize": L2Normalize}
OPTIMIZERS = {"SGD": SGD, "Adam": Adam, "Adadelta": Adadelta}


_RESUME_HINT = (" To resume a run from it, start over without --resume instead (or delete "
                "the file).")


def _read(path):
    data = read_npz(path, "load", _RESUME_HINT)
    if META not in data:
        raise ValueError(f"load: {os.fspath(path)!r} is an .npz file but not a scratchnet model: "
                         f"expected key {META!r}, got keys {sorted(data)[:8]}")
    try:
        meta = json.loads(str(data.pop(META)))
        ok = meta.get("format") == FORMAT and isinstance(meta.get("layers"), list)
    except (json.JSONDecodeError, AttributeError) as e:
        raise ValueError(f"load: the architecture record in {os.fspath(path)!r} is corrupt "
                         f"({e})") from e
    if not ok or meta.get("version") != VERSION:
        raise ValueError(f"load: expected format {FORMAT!r} version {VERSION}, got "
                         f"{meta.get('format')!r} version {meta.get('version')!r}")
    return meta, data


def _build(kind, classes, spec, *args):
    cls = classes.get(spec.get("class"))
    if cls is None:
        raise ValueError(f"load: unknown {kind} class {spec.get('class')!r}; expected one of "
                         f"{sorted(classes)} (scratchnet.nn.checkpoint.{kind.upper()}S)")
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
    meta, data = _read(path)
    shown = os.fspath(path)
    with weights_deferred():   # placeholders: nothing is allocated before the shapes agree
        model = Sequential([_build("layer", LAYERS, spec) for spec in meta["layers"]])
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
        optimizer = _build("optimizer", OPTIMIZERS, spec, chosen)
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
