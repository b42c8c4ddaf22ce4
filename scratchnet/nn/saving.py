r"""Writing a model to one ``.npz`` file: the format, and ``save_model``.

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

Writing needs only what every model has (``layers``, ``named_parameters()``), so this module
imports no model: ``Sequential.save`` calls it, and :mod:`scratchnet.nn.checkpoint`, which
reads the files back into a ``Sequential``, imports both. The imports run one way:
``saving`` <- ``model`` <- ``checkpoint``.
"""
import json

import numpy as np

from .._io import atomic_write

__all__ = ["save_model", "check_finite_weights", "FORMAT", "VERSION", "META"]

FORMAT, VERSION = "scratchnet.Sequential", 1
META = "__scratchnet__"


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
    meta = {"format": FORMAT, "version": VERSION, "state": state, "optimizer": None,
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
    arrays[META] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)
