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
``Generator`` (:class:`EpochSchedule`), so the randomness lives in one place.

umap-learn moves the points edge after edge, each move seeing all the moves before it; run on
several threads that way, the threads race and a seed no longer gives one answer (umap-learn
falls back to one thread when given a seed). Here the points are cut into ``N_BLOCKS`` blocks
(:func:`block_bounds`) and each epoch into ``ROUNDS`` rounds. In a round every block takes its
next share of edges in order and moves its own points exactly as umap-learn would, but sees the
other blocks' points as they were when the round began, and a pull on another block's point
waits until the round is over. The blocks never read what another block writes, so they run
side by side (``prange``) and the embedding is the same on 1 or 32 threads. The blocks and
rounds are fixed numbers, not the thread count. What this costs the layout's quality, measured
2026-12-07 on an Intel Xeon (2 cores) against the edge-after-edge order, with N2D's settings
(``UMAP(n_components=10, n_neighbors=10, min_dist=0)``) on the 5,000 images of
``mnist-test-5k``, seeds 0-2 (``benchmarks/bench_umap.py`` prints the same figures):
trustworthiness 0.9787-0.9793 against 0.9784-0.9793, K-means ACC on the embedding 0.754-0.758
against 0.756-0.759; one round per epoch instead of eight lost 0.01 of ACC. The layout ran
1.6x faster on the 2 cores (the epochs' kernel time: 3.6 s to 2.2 s).

:func:`layout_epoch_reference` (plain Python, one block after another) and its Numba twin
``_layout_epoch_kernel`` (blocks in parallel) compute the same numbers.
"""
import numpy as np
from numba import njit, parallel_chunksize, prange

_KERNEL_PARTS = {"_move_block": "layout_epoch_reference", "_move_blocks": "layout_epoch_reference",
                 "_round_edges": "layout_epoch_reference"}

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
        edges, n_neg = due_edges(self.next_sample, self.every, self.next_negative,
                                 self.every_negative, epoch)
        negatives = self.rng.integers(0, n_vertices, int(n_neg.sum()))
        return edges, n_neg, negatives


def due_edges_reference(next_sample, every, next_negative, every_negative, epoch):
    """The edges sampled at ``epoch`` and the negative samples each is owed (in NumPy).

    IN/OUT: ``next_sample`` and ``next_negative`` move on past this epoch.
    """
    edges = np.flatnonzero(next_sample <= epoch)
    next_sample[edges] += every[edges]
    owed = (epoch - next_negative[edges]) / every_negative[edges]
    n_neg = np.maximum(owed, 0).astype(np.int64)
    next_negative[edges] += n_neg * every_negative[edges]
    return edges, n_neg


@njit(cache=True, nogil=True)
def due_edges(next_sample, every, next_negative, every_negative, epoch):
    """Numba twin of :func:`due_edges_reference`: one pass over the edges instead of five
    (on 5,000 points the schedule, negative draws included, went from about 0.40 s to 0.33 s
    of a 2.7 s layout)."""
    edges = np.empty(next_sample.shape[0], np.int64)
    n_neg = np.empty(next_sample.shape[0], np.int64)
    count = 0
    for e in range(next_sample.shape[0]):
        if next_sample[e] <= epoch:
            next_sample[e] += every[e]
            owed = (epoch - next_negative[e]) / every_negative[e]
            c = np.int64(max(owed, 0.0))
            next_negative[e] += c * every_negative[e]
            edges[count] = e
            n_neg[count] = c
            count += 1
    return edges[:count].copy(), n_neg[:count].copy()


N_BLOCKS = 32   # blocks of points moved side by side: fixed, so the thread count never matters
ROUNDS = 8      # how often per epoch the blocks see each other's moves


def block_bounds(heads, n_points, n_blocks=N_BLOCKS):
    """Block boundaries ``point_lo`` (n_blocks + 1,): block c owns points ``point_lo[c]`` to
    ``point_lo[c + 1] - 1``, chosen so that the blocks hold about as many edges each."""
    n_blocks = max(1, min(n_blocks, n_points))
    degree = np.bincount(heads, minlength=n_points)
    middle = np.cumsum(degree) - degree / 2        # where each point's edges sit, in the middle
    inner = np.searchsorted(middle, degree.sum() * np.arange(1, n_blocks) / n_blocks)
    return np.concatenate([[0], inner, [n_points]]).astype(np.int64)


def layout_epoch_reference(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b,
                           alpha, move_tail, point_lo, rounds=ROUNDS):
    """One epoch of UMAP's SGD, block by block (plain Python; IN/OUT: head_emb, tail_emb).

    ``head_emb`` and ``tail_emb`` are the same array in ``fit``; in ``transform`` the tails are
    the fixed training embedding and only heads move (``move_tail=False``). ``heads[edges]``
    must be sorted, so that each block's edges are a contiguous run.

    Each block of points (``point_lo``) takes its edges in order, as umap-learn takes all of
    them, but sees the *other* blocks' points as they were at the start of the round: the
    blocks never read what another is writing, so they can run on any number of threads and
    give the same numbers. A pull on a point of another block is kept aside and added after
    the round, block by block, edge by edge.
    """
    first_negative = np.cumsum(n_neg) - n_neg
    block_edges = np.searchsorted(heads[edges], point_lo)
    outbox = np.zeros((len(edges), head_emb.shape[1]), head_emb.dtype)
    for r in range(rounds):
        seen = tail_emb.copy()                  # the other blocks, as this round found them
        spans = []
        for c in range(len(point_lo) - 1):
            lo, hi = point_lo[c], point_lo[c + 1]
            e0, e1 = block_edges[c], block_edges[c + 1]
            t0, t1 = e0 + (e1 - e0) * r // rounds, e0 + (e1 - e0) * (r + 1) // rounds
            spans.append((lo, hi, t0, t1))

            def row(p):   # a point of this block as it is now, any other as the round began
                return tail_emb[p] if move_tail and lo <= p < hi else seen[p]

            for t in range(t0, t1):
                i, j = heads[edges[t]], tails[edges[t]]
                diff = head_emb[i] - row(j)
                d2 = diff @ diff
                coeff = -2 * a * b * d2 ** (b - 1) / (a * d2 ** b + 1) if d2 > 0 else 0.0
                grad = np.clip(coeff * diff, -CLIP, CLIP)
                head_emb[i] += alpha * grad
                if move_tail and lo <= j < hi:
                    tail_emb[j] -= alpha * grad
                elif move_tail:
                    outbox[t] = -alpha * grad   # j belongs to another block: after the round
                for m in negatives[first_negative[t]: first_negative[t] + n_neg[t]]:
                    diff = head_emb[i] - row(m)
                    d2 = diff @ diff
                    if d2 > 0:
                        coeff = 2 * b / ((EPS + d2) * (a * d2 ** b + 1))
                        grad = np.clip(coeff * diff, -CLIP, CLIP)
                    elif i == m and move_tail:
                        continue
                    else:
                        grad = np.full_like(diff, CLIP)   # on top of each other: a fixed push
                    head_emb[i] += alpha * grad
        if move_tail:
            for lo, hi, t0, t1 in spans:
                for t in range(t0, t1):
                    j = tails[edges[t]]
                    if not lo <= j < hi:
                        tail_emb[j] += outbox[t]


@njit(cache=True, fastmath={"contract"})
def _move_block(head_emb, tail_emb, seen, heads, tails, edges, n_neg, negatives,
                first_negative, a, b, alpha, move_tail, lo, hi, t0, t1, outbox):
    """Edges ``t0:t1`` of the block owning points ``lo:hi`` (the loop body of the reference).

    The constants are float32 so that a float32 embedding is moved in float32 arithmetic
    (``powf`` instead of ``pow``: the layout ran 1.3x faster); a float64 one stays float64.
    """
    dim = head_emb.shape[1]
    one, two, clip, eps = np.float32(1.0), np.float32(2.0), np.float32(CLIP), np.float32(EPS)
    a, b, alpha = head_emb.dtype.type(a), head_emb.dtype.type(b), head_emb.dtype.type(alpha)
    for t in range(t0, t1):
        e = edges[t]
        i, j = heads[e], tails[e]
        mine = move_tail and lo <= j < hi
        src = tail_emb if mine else seen
        d2 = head_emb[i, 0] - head_emb[i, 0]   # a zero of the embedding's dtype
        for f in range(dim):
            diff = head_emb[i, f] - src[j, f]
            d2 += diff * diff
        coeff = d2 - d2
        if d2 > 0:
            d2b = d2 ** b                       # one pow: d^{2(b-1)} = d^{2b} / d^2
            coeff = -two * a * b * (d2b / d2) / (a * d2b + one)
        for f in range(dim):
            g = min(max(coeff * (head_emb[i, f] - src[j, f]), -clip), clip)
            head_emb[i, f] += alpha * g
            if mine:
                tail_emb[j, f] -= alpha * g
            elif move_tail:
                outbox[t, f] = -alpha * g
        k = first_negative[t]
        for _ in range(n_neg[t]):
            m = negatives[k]
            k += 1
            src = tail_emb if move_tail and lo <= m < hi else seen
            d2 = head_emb[i, 0] - head_emb[i, 0]
            for f in range(dim):
                diff = head_emb[i, f] - src[m, f]
                d2 += diff * diff
            if d2 > 0:
                coeff = two * b / ((eps + d2) * (a * d2 ** b + one))
                for f in range(dim):
                    g = min(max(coeff * (head_emb[i, f] - src[m, f]), -clip), clip)
                    head_emb[i, f] += alpha * g
            elif i == m and move_tail:
                continue
            else:
                for f in range(dim):
                    head_emb[i, f] += alpha * clip


@njit(cache=True, inline="always")
def _round_edges(block_edges, c, r, rounds):
    """Block c's edges in round r, ``t0:t1``: an even cut of its run ``block_edges[c]:[c+1]``."""
    e0, e1 = block_edges[c], block_edges[c + 1]
    return e0 + (e1 - e0) * r // rounds, e0 + (e1 - e0) * (r + 1) // rounds


@njit(cache=True, parallel=True)
def _move_blocks(head_emb, tail_emb, seen, heads, tails, edges, n_neg, negatives,
                 first_negative, a, b, alpha, move_tail, point_lo, block_edges, r, rounds,
                 outbox):
    """Round r of every block, the blocks side by side (``prange``). Nothing but the loop is
    compiled in parallel mode (array expressions there become parallel loops of their own and
    made the first run's compilation several times longer)."""
    for c in prange(point_lo.shape[0] - 1):
        t0, t1 = _round_edges(block_edges, c, r, rounds)
        _move_block(head_emb, tail_emb, seen, heads, tails, edges, n_neg, negatives,
                    first_negative, a, b, alpha, move_tail, point_lo[c], point_lo[c + 1],
                    t0, t1, outbox)


@njit(cache=True)
def _layout_epoch_kernel(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b,
                         alpha, move_tail, point_lo, rounds=ROUNDS):
    """Numba twin of :func:`layout_epoch_reference`: the blocks of a round run in parallel
    (:func:`_move_blocks`), the kept-aside pulls are added serially in the reference's order."""
    n_blocks = point_lo.shape[0] - 1
    n_edges = edges.shape[0]
    first_negative = np.empty(n_edges, np.int64)
    total = 0
    for t in range(n_edges):
        first_negative[t] = total
        total += n_neg[t]
    block_edges = np.searchsorted(heads[edges], point_lo)
    outbox = np.empty((n_edges, head_emb.shape[1]), head_emb.dtype)   # read only where written
    seen = tail_emb if not move_tail else np.empty_like(tail_emb)
    for r in range(rounds):
        if move_tail:
            seen[:] = tail_emb
        _move_blocks(head_emb, tail_emb, seen, heads, tails, edges, n_neg, negatives,
                     first_negative, a, b, alpha, move_tail, point_lo, block_edges, r, rounds,
                     outbox)
        if move_tail:
            for c in range(n_blocks):
                lo, hi = point_lo[c], point_lo[c + 1]
                t0, t1 = _round_edges(block_edges, c, r, rounds)
                for t in range(t0, t1):
                    j = tails[edges[t]]
                    if not lo <= j < hi:
                        for f in range(head_emb.shape[1]):
                            tail_emb[j, f] += outbox[t, f]


def optimize_layout(head_emb, tail_emb, heads, tails, weights, n_epochs, a, b, rng,
                    learning_rate=1.0, negative_sample_rate=5, move_tail=True, kernel=None,
                    progress=None):
    """Run ``n_epochs`` epochs of SGD in place on ``head_emb`` (and ``tail_emb``).

    ``kernel`` defaults to the Numba :func:`_layout_epoch_kernel`; the tests pass
    :func:`layout_epoch_reference` to hold the two equal. ``progress(epoch)`` is called after
    every epoch (a tqdm bar's ``update``, say).
    """
    kernel = _layout_epoch_kernel if kernel is None else kernel
    order = np.argsort(heads, kind="stable")   # each block's edges in one run (CSR: no-op)
    heads, tails, weights = heads[order], tails[order], weights[order]
    point_lo = block_bounds(heads, head_emb.shape[0])
    schedule = EpochSchedule(weights, negative_sample_rate, rng)
    for epoch in range(n_epochs):
        alpha = learning_rate * (1.0 - epoch / n_epochs)
        edges, n_neg, negatives = schedule.epoch_samples(epoch, tail_emb.shape[0])
        with parallel_chunksize(1):   # blocks handed out one at a time, to whichever is free
            kernel(head_emb, tail_emb, heads, tails, edges, n_neg, negatives, a, b, alpha,
                   move_tail, point_lo)
        if progress is not None:
            progress(epoch)
    return head_emb
