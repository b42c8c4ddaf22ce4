"""Small helpers every subpackage shares, kept apart so that importing one subpackage (the
metrics, K-means) does not load another (the network core and its kernels).

File writing has its own home, ``_io.py``; these are the rest.
"""
import numpy as np

__all__ = ["as_rng"]


def as_rng(random_state):
    """``None``, an int seed or a Generator -> a ``np.random.Generator``.

    A legacy ``np.random.RandomState`` (what scikit-learn code passes) seeds a new Generator
    from its next draw, so it advances as scikit-learn's estimators advance it."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    return np.random.default_rng(random_state)
