"""Small helpers every subpackage shares, kept apart so that importing one subpackage (the
metrics, K-means) does not load another (the network core and its kernels).

File writing has its own home, ``_io.py``; these are the rest.
"""
import os

import numpy as np

__all__ = ["as_rng", "physical_memory", "available_memory"]


def as_rng(random_state):
    """``None``, an int seed or a Generator -> a ``np.random.Generator``.

    A legacy ``np.random.RandomState`` (what scikit-learn code passes) seeds a new Generator
    from its next draw, so it advances as scikit-learn's estimators advance it."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    return np.random.default_rng(random_state)


def physical_memory():
    """Bytes of memory of this machine (0 where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 0


def available_memory():
    """Bytes a new allocation can get now (Linux's MemAvailable), else the machine's memory
    (0 where the OS says neither)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return physical_memory()
