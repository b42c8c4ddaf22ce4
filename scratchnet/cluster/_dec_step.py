r"""IDEC's training step, split across the cores like ``Sequential.fit``'s.

DEC's network is a chain (encoder, then the clustering layer), so it trains by the model's own
step (:meth:`scratchnet.nn.Sequential.train_step`). IDEC's is not: the decoder branches off
the codes :math:`z`, and the gradient reaching :math:`z` is the sum of two,

.. math:: \frac{\partial L}{\partial z} = \frac{\partial L_c}{\partial z}
          + \lambda \frac{\partial L_r}{\partial z}, \qquad L = L_c + \lambda L_r,

:math:`L_c = KL(P \| Q)` through the clustering layer and :math:`L_r` the reconstruction loss
through the decoder. :class:`IDECStep` is :class:`~scratchnet.nn._parallel.ParallelStep` with
that one branching pass in place of the chain's: each thread runs it on a slice of the batch
with its own replica of the layers, the gradients are summed, the optimizer steps once. Both
losses average over the samples, so a slice's gradients are scaled by its share of the batch,
exactly as for the chain.
"""
import copy
import math

from ..nn._parallel import ParallelStep
from ..nn.base import backward_through
from ..nn.model import Sequential


class IDECLoss:
    """The two losses of IDEC and the weight :math:`\\lambda`; each thread gets its own copy (the
    losses cache their inputs for ``backward``), and each copy keeps its slice's ``(lc, lr)``."""

    def __init__(self, kl, rec, weight):
        self.kl, self.rec, self.weight = kl, rec, weight
        self.last = (math.nan, math.nan)

    def __copy__(self):
        return IDECLoss(copy.copy(self.kl), copy.copy(self.rec), self.weight)


class IDECStep(ParallelStep):
    """One IDEC step on the layers ``encoder + [clustering] + decoder``; see the module."""

    def __init__(self, encoder, clustering, decoder, n_threads=None):
        super().__init__(Sequential(list(encoder.layers) + [clustering] + list(decoder.layers)),
                         n_threads)
        self.n_encoder = len(encoder.layers)
        weighted = [layer for layer in self.model.layers if layer.parameters()]
        # all of them on BLAS already (dense): not worth a split, as for Sequential
        self.blas_bound = all(layer.threads_inside for layer in weighted)

    def threads_for(self, n_samples):
        return 1 if self.blas_bound else super().threads_for(n_samples)

    def _run(self, layers, loss, xb, pb, share):
        """The branching pass on one slice; returns its :math:`L_c` (its :math:`L_r` is kept
        in ``loss.last``), the parameter gradients accumulated, scaled by ``share``."""
        encoder, clustering = layers[:self.n_encoder], layers[self.n_encoder]
        decoder = layers[self.n_encoder + 1:]
        z = xb
        for layer in encoder:
            z = layer.forward(z)
        lc = loss.kl(clustering.forward(z), pb)
        gz = clustering.backward(_scaled(loss.kl.backward(), share))
        out = z
        for layer in decoder:
            out = layer.forward(out)
        lr = loss.rec(out, xb)
        gz = gz + backward_through(decoder, _scaled(loss.rec.backward(), loss.weight * share))
        backward_through(encoder, gz, input_grad=False)   # nothing needs dL/d(input)
        loss.last = (lc, lr)
        return lc + loss.weight * lr

    def losses(self, loss, n_samples):
        """``(lc, lr)`` of the whole batch after :meth:`step`: the slices' size-weighted
        means (the slices are those ``step`` cut)."""
        k = self.threads_for(n_samples)
        if k == 1:
            return loss.last
        bounds = [n_samples * t // k for t in range(k + 1)]
        parts = [c.last for c in self._loss_copies(loss, k)]
        sizes = [bounds[t + 1] - bounds[t] for t in range(k)]
        return tuple(float(sum(p[i] * n for p, n in zip(parts, sizes)) / n_samples)
                     for i in (0, 1))


def _scaled(grad, factor):
    """``factor * grad`` in the gradient's dtype; a factor of 1 leaves it untouched."""
    return grad if factor == 1.0 else grad * grad.dtype.type(factor)
