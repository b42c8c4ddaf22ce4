r"""UMAP's layout: the curve fitted to ``min_dist``, and SGD on the fuzzy cross-entropy.

In the embedding, two points at distance d are neighbours with probability

.. math:: q(d) = \frac{1}{1 + a\, d^{2b}},

a smooth version of "1 up to ``min_dist``, then :math:`e^{-(d - \text{min\_dist})/\text{spread}}`";
:func:`find_ab_params` fits a and b to that curve by least squares (Levenberg–Marquardt).

The layout minimises the cross-entropy between the graph's weights :math:`w_{ij}` and
:math:`q(\lVert y_i - y_j \rVert)`,

.. math:: C = \sum_{ij} w_{ij} \log\frac{w_{ij}}{q_{ij}}
            + (1 - w_{ij}) \log\frac{1 - w_{ij}}{1 - q_{ij}},

by stochastic gradient descent: an edge is sampled in proportion to its weight (every
``max(w) / w_ij`` epochs), pulling its two ends together: :math:`y_i` moves along the
*negative* gradient of :math:`-\log q`, the step

.. math:: -\frac{\partial (-\log q_{ij})}{\partial y_i}
          = \frac{-2ab\, d^{2(b-1)}}{1 + a d^{2b}} (y_i - y_j)

(a pull towards :math:`y_j`, since the factor is negative), and each sample is followed by
``negative_sample_rate`` random points pushed away along the negative gradient of
:math:`-\log(1 - q)`,

.. math:: -\frac{\partial (-\log(1 - q_{ik}))}{\partial y_i}
          = \frac{2b}{(\varepsilon + d^2)(1 + a d^{2b})} (y_i - y_k),
          \quad \varepsilon = 0.001 .

The code adds these steps (times the learning rate) to :math:`y_i`.

Each gradient coordinate is clipped to ±4 and the learning rate falls linearly to 0.

Which edges and which negative points an epoch uses is decided in NumPy with a seeded
``Generator`` (:func:`epoch_samples`); the moving of points, which must run edge after edge, is
:func:`layout_epoch_reference` (plain Python) and its Numba twin ``_layout_epoch_kernel``. So
the randomness lives in one place and the same seed gives the same embedding.
"""
import numpy as np
from numba import njit

CLIP = 4.0
EPS = 0.001


def find_ab_params(spread=1.0, min_dist=0.1, n_iter=100):
    r"""a, b of :math:`1/(1 + a x^{2b})` closest to the target curve on :math:`[0, 3\,\text{spread}]`.

    Levenberg–Marquardt from (a, b) = (1, 1): the Gauss–Newton step
    :math:`(J^TJ + \lambda\,\mathrm{diag}(J^TJ))\,\delta = -J^T r`, λ shrunk after a step that
    lowers the squared residual and grown after one that does not (umap-learn calls scipy's
    ``curve_fit`` for the same fit). ``min_dist=0.1`` gives a ≈ 1.577, b ≈ 0.895.
    """
    if spread <= 0 or min_dist < 0:
        raise ValueError(f"find_ab_params: expected spread > 0 and min_dist >= 0, got "
                         f"spread={spread!r}, min_dist={min_dist!r}")
    x = np.linspace(0, spread * 3, 300)
    y = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))
    safe_log = np.log(np.where(x > 0, x, 1.0))

    def residual_and_jacobian(a, b):
        p = x ** (2 * b)
        f = 1.0 / (1.0 + a * p)
        J = np.stack([-p * f ** 2, -a * p * 2 * safe_log * f ** 2], axis=1)
        return f - y, J

    params, lam = np.array([1.0, 1.0]), 1e-3
    r, J = residual_and_jacobian(*params)
    for _ in range(n_iter):
        JTJ = J.T @ J
        step = np.linalg.solve(JTJ + lam * np.diag(np.diag(JTJ)), -J.T @ r)
        trial = params + step
        if np.all(trial > 0):
            r_new, J_new = residual_and_jacobian(*trial)
            if r_new @ r_new < r @ r:
                params, r, J, lam = trial, r_new, J_new, lam / 3
                if np.abs(step).max() < 1e-10:
                    break
                continue
        lam *= 4
    return float(params[0]), float(params[1])


def epochs_per_sample(weights):
    """How many epochs pass between two samples of each edge: max(w) / w (one sample every
    epoch for the strongest edge, proportionally fewer for the others)."""
    return weights.max() / weights


class EpochSchedule:
    """Which edges, and which negative samples, each epoch uses (umap-learn's bookkeeping).

    ``next_sample[e]`` is the epoch at which edge e is sampled next; after a sample it moves on
    by ``every[e]``. Negative samples are owed at ``negative_sample_rate`` times that rate and
    paid when the edge is sampled.
    """

    def __init__(self, weights, negative_sample_rate, rng):
        self.every = epochs_per_sample(weights)
        self.every_negative = self.every / negative_sample_rate
        self.next_sample = self.every.copy()
        self.next_negative = self.every_negative.copy()
        self.rng = rng

    def epoch_samples(self, epoch, n_vertices):
        """(edges, n_negative per edge, negative vertices) for this epoch."""
        edges = np.flatnonzero(self.next_sample <= epoch)
        self.next_sample[edges] += self.every[edges]
        owed = (epoch - self.next_negative[edges]) / self.every_negative[edges]
        n_neg = np.maximum(owed, 0).astype(np.int64)
        self.next_negative[edges] += n_neg * self.every_negative[edges]
        negatives = self.rng.integers(0, n_vertices, int(n_neg.sum()))
        return edges, n_neg, negatives


def layout_epoch_reference(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b,
                           alpha, move_tail):
    """One epoch of UMAP's SGD, edge by edge (plain Python; IN/OUT: head_emb, tail_emb).

    ``head_emb`` and ``tail_emb`` are the same array in ``fit``; in ``transform`` the tails are
    the fixed training embedding and only heads move (``move_tail=False``).
    """
    k = 0
    for e, count in zip(edges, n_neg):
        i, j = heads[e], tails[e]
        diff = head_emb[i] - tail_emb[j]
        d2 = diff @ diff
        coeff = -2 * a * b * d2 ** (b - 1) / (a * d2 ** b + 1) if d2 > 0 else 0.0
        grad = np.clip(coeff * diff, -CLIP, CLIP)
        head_emb[i] += alpha * grad
        if move_tail:
            tail_emb[j] -= alpha * grad
        for _ in range(count):
            m = negatives[k]
            k += 1
            diff = head_emb[i] - tail_emb[m]
            d2 = diff @ diff
            if d2 > 0:
                coeff = 2 * b / ((EPS + d2) * (a * d2 ** b + 1))
                grad = np.clip(coeff * diff, -CLIP, CLIP)
            elif i == m and move_tail:
                continue
            else:
                grad = np.full_like(diff, CLIP)   # on top of each other: a fixed push
            head_emb[i] += alpha * grad


@njit(cache=True, fastmath={"contract"})
def _layout_epoch_kernel(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b,
                         alpha, move_tail):
    """Numba twin of :func:`layout_epoch_reference`: the same maths with explicit loops.

    The constants are float32 so that a float32 embedding is moved in float32 arithmetic
    (``powf`` instead of ``pow``: the layout ran 1.3x faster); a float64 one stays float64.
    """
    dim = head_emb.shape[1]
    one, two, clip, eps = np.float32(1.0), np.float32(2.0), np.float32(CLIP), np.float32(EPS)
    a, b, alpha = head_emb.dtype.type(a), head_emb.dtype.type(b), head_emb.dtype.type(alpha)
    k = 0
    for t in range(edges.shape[0]):
        e = edges[t]
        i, j = heads[e], tails[e]
        d2 = head_emb[i, 0] - head_emb[i, 0]   # a zero of the embedding's dtype
        for f in range(dim):
            diff = head_emb[i, f] - tail_emb[j, f]
            d2 += diff * diff
        coeff = d2 - d2
        if d2 > 0:
            d2b = d2 ** b                       # one pow: d^{2(b-1)} = d^{2b} / d^2
            coeff = -two * a * b * (d2b / d2) / (a * d2b + one)
        for f in range(dim):
            g = min(max(coeff * (head_emb[i, f] - tail_emb[j, f]), -clip), clip)
            head_emb[i, f] += alpha * g
            if move_tail:
                tail_emb[j, f] -= alpha * g
        for _ in range(n_neg[t]):
            m = negatives[k]
            k += 1
            d2 = head_emb[i, 0] - head_emb[i, 0]
            for f in range(dim):
                diff = head_emb[i, f] - tail_emb[m, f]
                d2 += diff * diff
            if d2 > 0:
                coeff = two * b / ((eps + d2) * (a * d2 ** b + one))
                for f in range(dim):
                    g = min(max(coeff * (head_emb[i, f] - tail_emb[m, f]), -clip), clip)
                    head_emb[i, f] += alpha * g
            elif i == m and move_tail:
                continue
            else:
                for f in range(dim):
                    head_emb[i, f] += alpha * clip


def optimize_layout(head_emb, tail_emb, heads, tails, weights, n_epochs, a, b, rng,
                    learning_rate=1.0, negative_sample_rate=5, move_tail=True, kernel=None,
                    progress=None):
    """Run ``n_epochs`` epochs of SGD in place on ``head_emb`` (and ``tail_emb``).

    ``kernel`` defaults to the Numba :func:`_layout_epoch_kernel`; the tests pass
    :func:`layout_epoch_reference` to hold the two equal. ``progress(epoch)`` is called after
    every epoch (a tqdm bar's ``update``, say).
    """
    kernel = _layout_epoch_kernel if kernel is None else kernel
    schedule = EpochSchedule(weights, negative_sample_rate, rng)
    for epoch in range(n_epochs):
        alpha = learning_rate * (1.0 - epoch / n_epochs)
        edges, n_neg, negatives = schedule.epoch_samples(epoch, tail_emb.shape[0])
        kernel(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b, alpha,
               move_tail)
        if progress is not None:
            progress(epoch)
    return head_emb
