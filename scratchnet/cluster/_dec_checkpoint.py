r"""DEC's checkpoint: the state of a run just after a refresh of the target, in one ``.npz``.

:meth:`DEC.fit <scratchnet.cluster.DEC.fit>` calls :func:`save` after every refresh of
:math:`P` and, with ``resume=True``, :func:`load` instead of K-means. Nothing here is part of
the algorithm; it only lets an interrupted run continue exactly as the uninterrupted one would.

==========================  ==================================================================
key                         content
==========================  ==================================================================
``encoder.<i>``             the encoder's weights, in ``parameters()`` order
``decoder.<i>``             IDEC only: the decoder's weights
``mu``                      the centroids
``optimizer.t``             the optimizer's step count, and its per-parameter state arrays
``optimizer.<slot>.<i>``    (``Optimizer.state_dict()`` laid out flat, e.g. ``optimizer.m.3``)
``iteration``               the training step of the refresh
``seed``                    the seed of the batch order (a string: it may exceed int64)
``target``                  :math:`P` (N, K) computed at that refresh
``labels``                  the labels of that refresh (the next one counts the changes)
``history.<key>``           ``DEC.history_``, one float64 array per key
``fingerprint.data``        SHA-256 of the input ``X`` (its shape, dtype and bytes)
``fingerprint.settings``    JSON of every setting that changes the result (:func:`settings`)
==========================  ==================================================================

A resume proves it continues the same run: the data must hash the same and every setting
must match, or :func:`load` refuses and says which differ. Applying a saved :math:`P` to other
images (the same number of them, reversed, or another dataset) would train every image
towards another image's target. ``max_iter`` and ``tol`` are left out on purpose: they say
when to stop, and a resumed run may go on longer than planned.

The step count, :math:`P`, the labels and the seed are enough to continue: the batches of
step :math:`t` are drawn from a permutation seeded by ``(seed, pass)``, so the resumed run
trains on exactly the batches the uninterrupted one would have.

The file is written atomically (:func:`scratchnet._io.atomic_write`: a temporary file renamed
over the target), and never with NaN or infinite weights, so a diverged run cannot overwrite a
good checkpoint. It is read with :func:`scratchnet._io.read_npz` (no pickles; an unreadable
file is one ``ValueError`` naming it).
"""
import hashlib
import json
import os

import numpy as np

from .._io import atomic_write, read_npz
from ..nn.checkpoint import check_finite_weights

__all__ = ["save", "load"]

_HINT = (" Start the run again without resuming (--resume on the command line), or delete the "
         "file.")
_NEEDED = {"mu", "target", "iteration", "optimizer.t", "seed", "labels", "history.iteration"}


def save(dec, path, iteration, p, labels):
    """Write ``dec``'s run at the refresh of step ``iteration`` (see the module docstring)."""
    weights = _named_weights(dec)
    check_finite_weights("DEC.save_checkpoint", weights + [("mu", dec.clustering_.mu)])
    arrays = {key: w.value for key, w in weights}
    arrays.update(_optimizer_arrays(dec.optimizer_.state_dict()))
    arrays.update({f"history.{k}": np.asarray(v, dtype=np.float64)
                   for k, v in dec.history_.items()})
    arrays.update(mu=dec.clustering_.mu.value, iteration=np.int64(iteration),
                  seed=np.array(str(dec._seed)), target=p, labels=labels)
    arrays["fingerprint.data"] = np.array(dec._data_fingerprint)
    arrays["fingerprint.settings"] = np.array(json.dumps(settings(dec), sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def data_fingerprint(X):
    """SHA-256 (hex) of an array's shape, dtype and bytes: the same images, or not."""
    X = np.ascontiguousarray(X)
    h = hashlib.sha256(f"{X.shape} {X.dtype.str}".encode())
    h.update(memoryview(X).cast("B"))
    return h.hexdigest()


def settings(dec):
    """Every setting of ``dec`` that changes what a step computes, as JSON-ready values: the
    clustering's, the optimizer's, the augmentation's, and the layers of the networks (their
    kinds and scalar settings, e.g. an L2 normalisation's radius; weights apart)."""
    def layers(net):
        if net is None:
            return None
        return [[type(layer).__name__,
                 {k: v for k, v in sorted(vars(layer).items())
                  if not k.startswith("_") and isinstance(v, (bool, int, float, str))}]
                for layer in getattr(net, "layers", [net])]
    optimizer = dec.optimizer
    return {"n_clusters": int(dec.n_clusters), "alpha": float(dec.alpha),
            "update_interval": int(dec.update_interval), "batch_size": int(dec.batch_size),
            "reconstruction_weight": float(dec.reconstruction_weight),
            "reconstruction_loss": str(dec.reconstruction_loss),
            "optimizer": optimizer if optimizer is None or isinstance(optimizer, str)
            else type(dec.optimizer_).__name__,
            "augment": None if dec.augment is None else repr(dec.augment),
            "encoder": layers(dec.encoder),
            "decoder": layers(dec.decoder) if dec.reconstruction_weight > 0 else None}


def _check_same_run(dec, data, path):
    """Refuse a checkpoint written for other data or other settings, naming what differs."""
    where = f"DEC.fit(resume): {os.fspath(path)!r}"
    if "fingerprint.data" not in data or "fingerprint.settings" not in data:
        raise ValueError(f"{where} holds no fingerprint of its data and settings, so nothing "
                         f"proves it continues this run." + _HINT)
    if str(data["fingerprint.data"]) != dec._data_fingerprint:
        raise ValueError(f"{where} was written for other data (the same number of samples, "
                         f"other values or order): expected the inputs it started from." + _HINT)
    saved, now = json.loads(str(data["fingerprint.settings"])), settings(dec)
    differ = [k for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if differ:
        shown = "; ".join(f"{k} {json.dumps(saved.get(k))} -> {json.dumps(now.get(k))}"
                          for k in differ)
        raise ValueError(f"{where} was written with other settings: {shown}." + _HINT)


def load(dec, path, n_samples):
    """Restore into ``dec`` what :func:`save` wrote; returns ``(iteration, P, labels)``.

    Builds ``dec``'s clustering layer and optimizer around the saved centroids, then copies the
    weights, the optimizer's state, the seed and ``history_``. Raises one ``ValueError`` naming
    the file for an unreadable or foreign file, and naming the array for another data set,
    architecture or optimizer.
    """
    data = read_npz(path, "DEC.fit(resume)", _HINT)
    if not _NEEDED <= set(data):
        raise ValueError(f"DEC.fit(resume): {os.fspath(path)!r} is not a DEC checkpoint "
                         f"(expected keys {sorted(_NEEDED)}, got {sorted(data)[:6]}...)." + _HINT)
    if data["target"].shape != (n_samples, dec.n_clusters):
        raise ValueError(f"DEC.fit(resume): checkpoint target expected shape "
                         f"{(n_samples, dec.n_clusters)}, got {data['target'].shape} "
                         "(other data?)")
    _check_same_run(dec, data, path)
    dec._build(data["mu"])
    for key, w in _named_weights(dec):
        if key not in data or data[key].shape != w.shape:
            got = data[key].shape if key in data else "nothing"
            raise ValueError(f"DEC.fit(resume): checkpoint {key} expected shape {w.shape}, "
                             f"got {got} (a different architecture?)")
        np.copyto(w.value, data[key])

    # the fresh optimizer's own state_dict says which arrays to expect
    template = dec.optimizer_.state_dict()
    expected = set(_optimizer_arrays(template))
    found = {k for k in data if k.startswith("optimizer.")}
    if found != expected:
        raise ValueError(f"DEC.fit(resume): checkpoint optimizer state expected keys "
                         f"{sorted(expected)[:4]}..., got {sorted(found)[:4]}... "
                         f"(another optimizer than {dec.optimizer_.name}?)")
    state = {slot: [data[f"optimizer.{slot}.{i}"] for i in range(len(values))]
             for slot, values in template.items() if slot != "t"}
    dec.optimizer_.load_state_dict({"t": int(data["optimizer.t"]), **state})

    dec._seed = int(str(data["seed"]))
    dec.history_ = {k[len("history."):]: v.tolist() for k, v in data.items()
                    if k.startswith("history.")}
    dec.history_["iteration"] = [int(i) for i in dec.history_["iteration"]]
    return int(data["iteration"]), data["target"], data["labels"]


def _named_weights(dec):
    """``[(key, Parameter)]`` of the networks the run trains (the centroids apart)."""
    named = [(f"encoder.{i}", w) for i, w in enumerate(dec.encoder.parameters())]
    if dec.reconstruction_weight > 0:
        named += [(f"decoder.{i}", w) for i, w in enumerate(dec.decoder.parameters())]
    return named


def _optimizer_arrays(state):
    """An ``Optimizer.state_dict()`` as flat ``.npz`` entries ``optimizer.t``,
    ``optimizer.<slot>.<i>``."""
    arrays = {"optimizer.t": np.int64(state["t"])}
    arrays.update({f"optimizer.{slot}.{i}": a for slot, values in state.items() if slot != "t"
                   for i, a in enumerate(values)})
    return arrays
