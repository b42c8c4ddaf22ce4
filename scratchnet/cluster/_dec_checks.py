"""The checks :class:`scratchnet.cluster.DEC` runs at ``fit`` and ``predict_proba``.

Kept apart from ``dec.py`` so that the loop reads without them: each raises a ``ValueError``
or ``TypeError`` that names what was expected and what came.
"""
import math

import numpy as np


def check_params(dec, reconstruction_losses, optimizers):
    """DEC's settings as given to ``__init__``, checked at ``fit`` (scikit-learn's convention);
    returns ``init`` as a float64 copy of the centroids, or the string ``"k-means"``."""
    for name in ("n_clusters", "update_interval", "max_iter", "batch_size", "n_init"):
        v = getattr(dec, name)
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"DEC: expected {name} to be a positive int, got {v!r}")
    alpha, tol, weight = dec.alpha, dec.tol, dec.reconstruction_weight
    if not 0 < alpha < math.inf or not 0 <= tol < 1 or not 0 <= weight < math.inf:
        raise ValueError(f"DEC: expected finite alpha > 0, 0 <= tol < 1 and finite "
                         f"reconstruction_weight >= 0, got alpha={alpha}, tol={tol}, "
                         f"reconstruction_weight={weight}")
    if weight > 0 and dec.decoder is None:
        raise ValueError(f"DEC: reconstruction_weight={weight} (IDEC) needs a decoder, got "
                         "decoder=None")
    if dec.reconstruction_loss not in reconstruction_losses:
        raise ValueError(f"DEC: reconstruction_loss must be one of "
                         f"{sorted(reconstruction_losses)}, got {dec.reconstruction_loss!r}")
    if dec.augment is not None and not callable(dec.augment):
        raise ValueError(f"DEC: augment must be None or a callable (batch, rng) -> batch, "
                         f"got {type(dec.augment).__name__}")
    optimizer = dec.optimizer
    if not (optimizer is None or callable(optimizer) or optimizer in optimizers):
        raise ValueError(f"DEC: optimizer must be None, one of {sorted(optimizers)} or a "
                         f"callable params -> Optimizer, got {optimizer!r}")
    init = dec.init
    if isinstance(init, str):
        if init != "k-means":
            raise ValueError(f"DEC: init must be 'k-means' or an array of centroids "
                             f"({dec.n_clusters}, D), got {init!r}")
    else:
        init = np.array(init, dtype=np.float64)     # a copy: fit never changes the caller's
        finite = bool(np.isfinite(init).all())
        if init.ndim != 2 or len(init) != dec.n_clusters or not finite:
            raise ValueError(f"DEC: expected init as finite centroids of shape "
                             f"({dec.n_clusters}, D), got shape {init.shape}"
                             + ("" if finite else " with NaN/inf"))
    return init


def check_X(X, where):
    """``X`` for ``DEC.fit``/``predict_proba``: a finite float NumPy array (N, ...), N >= 1."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"DEC.{where}: expected X as a NumPy array, got {type(X).__name__}")
    if X.dtype.kind != "f" or X.ndim < 2 or len(X) == 0:
        raise ValueError(f"DEC.{where}: expected a float array (N, ...) with N >= 1, got "
                         f"shape {X.shape} dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"DEC.{where}: X must be finite, got "
                         f"{int(X.size - np.isfinite(X).sum())} NaN/inf value(s)")
    return X
