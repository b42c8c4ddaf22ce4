r"""The parallel training step: split the batch across threads, sum the gradients.

This is an optimisation of the textbook step, not a different algorithm: the plain step
(zero_grad, forward, loss, backward, optimizer step) is the five lines of
``Sequential.train_step`` in :mod:`scratchnet.nn.model`, which hands a batch to
:meth:`ParallelStep.step` only when :meth:`ParallelStep.threads_for` says it is worth splitting
(more than one core and at least ``2 * min_per_thread`` samples). Both give the same loss and
the same gradients, up to float rounding (``tests/nn/test_parallel.py``).

Why this shape of parallelism? On 2 cores, parallelising *inside* each kernel pays a fork/join
per kernel call (dozens per step, many of them well under a millisecond), and when Numba's
worker threads and OpenBLAS's both spin on the same 2 cores the step ran 3× slower than with
either pool at one thread. Splitting the *batch* instead gives each thread one long, independent
stretch of work: thread ``t`` runs forward, loss and backward on its slice of the batch with
single-threaded ``nogil`` Numba kernels and single-threaded BLAS (NumPy releases the GIL in
both), and the only synchronisation is one join per step. That beat per-kernel parallelism by
35–45% in the prototype.

Who owns the cores: during :meth:`ParallelStep.step` BLAS is limited to one thread with
``threadpoolctl`` (restored afterwards, so the rest of the program keeps its defaults), and our
kernels never start Numba's thread pool. The optimizer step runs once, after the join.

Replicas: thread ``t > 0`` runs a shallow copy of every layer, with its own forward caches,
work buffers and ``.grad`` arrays but the *same* ``Parameter.value`` arrays (optimizers update
values in place, so replicas never go stale; a rebound value, e.g. after ``astype``, is
re-linked at the next step). With losses that average over samples (MSE, BCE, KL: every loss in
:mod:`.losses`), the loss of the full batch is the size-weighted mean of the slices' losses, so
thread ``t`` scales its upstream gradient by :math:`n_t / N` and the summed gradients are those
of the whole batch, up to float rounding.
"""
import copy
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from .base import Parameter, backward_through

_pool = None
_pool_lock = threading.Lock()


def _executor(n_workers):
    """A process-wide pool of worker threads (the calling thread does one share itself)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < n_workers:
            _pool = ThreadPoolExecutor(max_workers=n_workers,
                                       thread_name_prefix="scratchnet-step")
        return _pool


def side_by_side(fn, k):
    """``[fn(0), ..., fn(k - 1)]``, fn(0) on the calling thread and the others on the pool."""
    if k == 1:
        return [fn(0)]
    futures = [_executor(k - 1).submit(fn, t) for t in range(1, k)]
    return [fn(0)] + [f.result() for f in futures]


def default_threads():
    """Threads for the training step: the CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _replica(layer):
    """A shallow copy of ``layer`` with its own Parameters (shared value, own grad) and buffers."""
    clone = copy.copy(layer)
    for name, value in vars(layer).items():
        if isinstance(value, Parameter):
            setattr(clone, name, Parameter(value.value))
        elif name == "_work":
            setattr(clone, name, {})
    mine = {id(p) for p in layer.parameters()}
    if any(id(p) in mine for p in clone.parameters()):
        raise TypeError(f"ParallelStep: cannot replicate {layer.name}: its parameters are not "
                        "held as attributes")
    return clone


class ParallelStep:
    r"""One training step (zero_grad, forward, loss, backward, optimizer step) on ``n_threads``.

    Parameters
    ----------
    model : Sequential
        Anything with a ``layers`` list and ``parameters()``.
    n_threads : int, optional
        Defaults to :func:`default_threads`. With 1 (or a batch smaller than
        ``2 * min_per_thread``) the step runs serially on the calling thread.
    min_per_thread : int, default 16
        Smaller slices are not worth a thread.

    Notes
    -----
    For a batch split into slices :math:`B_t` of sizes :math:`n_t` and a mean-reduced loss,

    .. math:: L = \sum_t \frac{n_t}{N} L_t, \qquad
              \nabla_\theta L = \sum_t \frac{n_t}{N} \nabla_\theta L_t,

    so each thread back-propagates :math:`(n_t/N)\,\partial L_t / \partial \hat y` and the
    parameter gradients are summed into the model's ``.grad`` in a fixed order (the result does
    not depend on thread timing).
    """

    def __init__(self, model, n_threads=None, min_per_thread=16):
        self.model = model
        self.n_threads = default_threads() if n_threads is None else int(n_threads)
        if self.n_threads < 1:
            raise ValueError(f"ParallelStep: n_threads must be >= 1, got {n_threads!r}")
        self.min_per_thread = min_per_thread
        self._key = None
        self._replicas = []   # per extra thread: list of layers
        self._pairs = []      # per extra thread: [(model Parameter, replica Parameter)]
        self._losses = {}

    def threads_for(self, n_samples):
        """How many threads a batch of ``n_samples`` is split across: 1 (the serial step) on one
        core or when a slice would hold fewer than ``min_per_thread`` samples."""
        return max(1, min(self.n_threads, n_samples // self.min_per_thread))

    def _sync(self, k):
        """(Re)build the replicas when the layers changed; re-link rebound parameter values."""
        key = (k, tuple(id(layer) for layer in self.model.layers))
        if key != self._key:
            self._replicas = [[_replica(layer) for layer in self.model.layers]
                              for _ in range(k - 1)]
            self._pairs = [[(p, q) for layer, rep in zip(self.model.layers, reps)
                            for p, q in zip(layer.parameters(), rep.parameters())]
                           for reps in self._replicas]
            self._key = key
        for pairs in self._pairs:
            for p, q in pairs:
                if q.value is not p.value:
                    q.value = p.value
                if q.grad.shape != p.value.shape or q.grad.dtype != p.value.dtype:
                    q.grad = np.zeros_like(p.value)

    def _loss_copies(self, loss, k):
        copies = self._losses.get(id(loss))
        if copies is None or len(copies) < k or copies[0][0] is not loss:
            copies = [(loss, copy.copy(loss)) for _ in range(k)]
            self._losses = {id(loss): copies}
        return [c for _, c in copies[:k]]

    @staticmethod
    def _run(layers, loss, xb, yb, weight):
        """Forward, loss and backward of one slice; gradients accumulate into its layers."""
        out = xb
        for layer in layers:
            out = layer.forward(out)
        value = loss(out, yb)
        grad = loss.backward()
        if weight != 1.0:
            grad = grad * np.asarray(weight, dtype=grad.dtype)
        backward_through(layers, grad, input_grad=False)  # nothing needs dL/d(input)
        return value

    def step(self, xb, yb, loss, optimizer):
        """Train on one batch; returns the batch's loss (as the serial step would).

        When that loss is NaN or infinite the optimizer step is skipped: the weights stay those
        of the last good step, and the caller (``Sequential.fit``) stops with an error.
        """
        N = len(xb)
        k = self.threads_for(N)
        self.model.zero_grad()
        if k == 1:
            value = self._run(self.model.layers, loss, xb, yb, 1.0)
            if math.isfinite(value):   # a NaN/inf loss must not reach the weights; fit raises
                optimizer.step()
            return value
        self._sync(k)
        bounds = [N * t // k for t in range(k + 1)]
        losses = self._loss_copies(loss, k)
        layer_sets = [self.model.layers] + self._replicas[:k - 1]
        for layers in layer_sets[1:]:
            for layer in layers:
                layer.zero_grad()
        with threadpool_limits(limits=1, user_api="blas"):
            futures = [_executor(k - 1).submit(
                self._run, layer_sets[t], losses[t], xb[bounds[t]:bounds[t + 1]],
                yb[bounds[t]:bounds[t + 1]], (bounds[t + 1] - bounds[t]) / N)
                for t in range(1, k)]
            values = [self._run(layer_sets[0], losses[0], xb[:bounds[1]], yb[:bounds[1]],
                                bounds[1] / N)]
            values += [f.result() for f in futures]
        for pairs in self._pairs[:k - 1]:
            for p, q in pairs:
                p.grad += q.grad
        value = float(sum(v * (bounds[t + 1] - bounds[t]) for t, v in enumerate(values)) / N)
        if math.isfinite(value):       # a NaN/inf loss must not reach the weights; fit raises
            optimizer.step()
        return value
