r"""Deep embedded clustering (DEC) and its variant with a kept decoder (IDEC).

DEC [1]_ starts from a pretrained encoder :math:`f` and K-means centroids :math:`\mu_j` of the
codes :math:`z_i = f(x_i)`, then trains encoder and centroids together so that the clusters
become more confident:

1. soft assignment :math:`Q` — a Student's t kernel between codes and centroids
   (:func:`soft_assignment`);
2. target :math:`P` — :math:`Q` squared and divided by the cluster sizes, so confident
   assignments count more and big clusters do not swallow the rest (:func:`target_distribution`);
3. minimise :math:`KL(P \| Q)` over the encoder weights and :math:`\mu` with :math:`P` held
   fixed, refreshing :math:`P` every ``update_interval`` batches, and stop when fewer than a
   fraction ``tol`` of the labels :math:`\arg\max_j q_{ij}` changed since the last refresh.

IDEC [2]_ adds the decoder back: :math:`L = L_c + \lambda L_r` with the reconstruction loss
:math:`L_r`, which keeps the codes faithful to the images while the clusters sharpen.

Where to read what: :math:`Q`, :math:`P` and the gradient of :math:`KL(P \| Q)` (the
:class:`ClusteringLayer`) are in ``_dec_layer.py``; the loop is :meth:`DEC.fit` here, with
:meth:`DEC._refresh` (steps 1 and 2, and the stopping test) and :meth:`DEC._train_step` (one
gradient step of 3). Saving and resuming a run are beside it, in ``_dec_checkpoint.py``.

References
----------
.. [1] J. Xie, R. Girshick and A. Farhadi, "Unsupervised Deep Embedding for Clustering
   Analysis", ICML 2016, arXiv:1511.06335.
.. [2] X. Guo, L. Gao, X. Liu and J. Yin, "Improved Deep Embedded Clustering with Local
   Structure Preservation", IJCAI 2017.
.. [3] X. Guo, E. Zhu, X. Liu and J. Yin, "Deep Embedded Clustering with Data Augmentation",
   ACML 2018.
"""
import math
import os

import numpy as np
from tqdm.auto import tqdm

from ..base import BaseEstimator
from ..nn.losses import BCELoss, KLDivLoss, MSELoss
from ..nn._fit_checks import diverged
from ..nn.model import Sequential
from ..nn.optim import SGD, Adam, Optimizer
from . import _dec_checkpoint
from ._dec_checks import check_params, check_X
from ._dec_step import IDECLoss, IDECStep
from ._dec_layer import ClusteringLayer, soft_assignment, target_distribution
from .kmeans import KMeans

__all__ = ["DEC", "ClusteringLayer", "soft_assignment", "target_distribution"]

_RECONSTRUCTION = {"mse": MSELoss, "bce": BCELoss}
_OPTIMIZERS = {"sgd": lambda params: SGD(params, lr=0.01, momentum=0.9),   # DEC's choice
               "adam": lambda params: Adam(params, lr=1e-3)}               # IDEC's choice


class DEC(BaseEstimator):
    r"""Deep embedded clustering [1]_, or IDEC [2]_ when a decoder and a weight are given.

    Parameters
    ----------
    encoder : Sequential
        Pretrained encoder whose output is 2-D codes (N, D); end a convolutional encoder with
        ``Flatten()``. Trained in place.
    n_clusters : int
    alpha : float, default 1.0
        Degrees of freedom of the Student's t kernel.
    update_interval : int, default 140
        Batches between two refreshes of the target :math:`P` (DEC-keras's value for MNIST).
    tol : float, default 1e-3
        Stop at a refresh where fewer than this fraction of labels changed.
    max_iter : int, default 20000
        Maximum number of batches (training steps).
    batch_size : int, default 256
    optimizer : None, "sgd", "adam" or callable
        ``None`` is ``"sgd"`` (SGD, lr 0.01, momentum 0.9, as in [1]_), ``"adam"`` is Adam with
        lr 1e-3 (as in IDEC's code); a callable gets the list of parameters (encoder, centroids,
        decoder) and returns an :class:`~scratchnet.nn.Optimizer`.
    reconstruction_weight : float, default 0
        :math:`\lambda` in :math:`L = L_c + \lambda L_r`. IDEC writes :math:`L_r + \gamma L_c`
        with :math:`\gamma = 0.1`, the same minimiser as :math:`\lambda = 1/\gamma = 10` (Adam is
        insensitive to the overall scale; with SGD scale the learning rate by :math:`\gamma`).
    decoder : Sequential, optional
        Required when ``reconstruction_weight > 0``; trained in place.
    n_init : int, default 20
        K-means restarts for the initial centroids.
    random_state : None or int
        Seeds K-means and the batch order (pass ``n`` goes through
        ``default_rng([seed, n]).permutation(N)``).
    reconstruction_loss : {"mse", "bce"}, default "mse"
    callbacks : sequence of callables
        Each is called as ``callback(dec, logs)`` after every refresh of the target, with
        ``logs`` the latest entry of ``history_`` (use it to print or log; nothing is printed).
    verbose : bool, default True
        A tqdm bar over the training steps.
    init : "k-means" or ndarray (n_clusters, D), default "k-means"
        Where the centroids start: K-means on the codes (``n_init`` restarts), or given
        centroids in code space (e.g. those of a K-means already run on the same codes;
        ``n_init`` is then unused). The first labels are the nearest centroids.
    augment : callable, optional
        ``augment(xb, rng) -> xb'``, e.g. :class:`scratchnet.augment.RandomAffine`: every
        training batch is a random variant of the images, while the target :math:`P` is
        computed on the plain ones (DEC-DA [3]_): the encoder learns to give a moved or turned
        image the cluster of the original. IDEC's decoder then rebuilds the variant. ``rng``
        is ``default_rng([seed, step, 1])``, so a resumed run draws the same variants.

    Attributes
    ----------
    clustering_ : ClusteringLayer
        Holds the centroids; ``cluster_centers_`` is ``clustering_.mu.value``.
    labels_ : ndarray (N,) int64
        :math:`\arg\max_j q_{ij}` of the training data with the final weights.
    history_ : dict of lists
        One entry per refresh: ``iteration``, ``loss`` (mean :math:`L_c` over the batches since
        the previous refresh), ``reconstruction_loss`` (IDEC), ``delta_label`` and, when ``y``
        was given to ``fit``, ``acc`` and ``nmi`` of the labels at that refresh.
    n_iter_ : int
        Training steps taken.
    optimizer_ : Optimizer

    Notes
    -----
    The loop is DEC-keras's, but for the batch order: K-means on the codes (or ``init``) gives
    :math:`\mu` and the first labels; at every step :math:`t` with :math:`t \bmod`
    ``update_interval`` :math:`= 0` the whole data is encoded, :math:`Q`, :math:`P` and the
    labels recomputed, and training stops if the fraction of changed labels is below ``tol``
    (never at :math:`t = 0`); otherwise one batch of :math:`(x, P)` makes a gradient step on
    :math:`KL(P \| Q)` (the loss: :class:`scratchnet.nn.KLDivLoss`). DEC-keras walks the data
    in its stored order, batch after batch; here every pass over the data draws a new
    permutation (seeded by ``(seed, pass)``), as ``Sequential.fit`` does, so that no batch
    is always the same images (a dataset sorted by class would otherwise give one-class
    batches).

    Examples
    --------
    >>> from scratchnet.nn import Dense, Sequential
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, (50, 4)), rng.normal(3, 1, (50, 4))])
    >>> dec = DEC(Sequential([Dense(4, 2, random_state=1)]), 2, update_interval=10,
    ...           max_iter=50, n_init=2, random_state=0, verbose=False)
    >>> labels = dec.fit(X.astype(np.float32)).labels_
    >>> bool((labels[:50] != labels[50:]).all())
    True
    """

    _estimator_type = "clusterer"
    _fitted_attr = "clustering_"

    def __init__(self, encoder, n_clusters, alpha=1.0, update_interval=140, tol=1e-3,
                 max_iter=20000, batch_size=256, optimizer=None, reconstruction_weight=0.0,
                 decoder=None, n_init=20, random_state=None, reconstruction_loss="mse",
                 callbacks=(), verbose=True, init="k-means", augment=None):
        # stored as given and checked by fit (scikit-learn's convention, which clone relies on)
        self.encoder, self.decoder = encoder, decoder
        self.n_clusters, self.alpha = n_clusters, alpha
        self.update_interval, self.tol = update_interval, tol
        self.max_iter, self.batch_size = max_iter, batch_size
        self.optimizer, self.n_init = optimizer, n_init
        self.reconstruction_weight = reconstruction_weight
        self.reconstruction_loss = reconstruction_loss
        self.random_state, self.callbacks, self.verbose = random_state, callbacks, verbose
        self.init, self.augment = init, augment

    # -- the algorithm ------------------------------------------------------------------------
    def fit(self, X, y=None, checkpoint=None, resume=False):
        r"""Initialise the centroids by K-means on the codes, then train on :math:`KL(P \| Q)`.

        Parameters
        ----------
        X : ndarray (N, ...) float
            The encoder's input (flat vectors or NCHW images).
        y : ndarray (N,), optional
            True labels, used *only* to record ``acc``/``nmi`` in ``history_``.
        checkpoint : str or PathLike, optional
            Written atomically at every refresh (see :meth:`save_checkpoint`).
        resume : bool
            Continue from ``checkpoint`` if the file exists: restores encoder (and decoder)
            weights, centroids, optimizer state, iteration, target :math:`P`, the last labels,
            ``history_`` and the seed, then carries on exactly as the uninterrupted run would
            (K-means is not rerun). The checkpoint holds a fingerprint of ``X`` and of the
            settings; other data or settings are refused with a ``ValueError`` that names
            what differs (``max_iter`` and ``tol`` may change).

        Returns
        -------
        self
        """
        X = self._prepare(X, y)
        n = len(X)
        if checkpoint is not None:      # what a resume must find again (_dec_checkpoint.py)
            self._data_fingerprint = _dec_checkpoint.data_fingerprint(X)
        if resume and checkpoint is not None and os.path.exists(checkpoint):
            it, p, labels = _dec_checkpoint.load(self, checkpoint, n)
        else:
            it, p, labels = self._start(X, y, checkpoint)
        # from here on (it, p, labels) is the state just after the refresh at step `it`

        bar = tqdm(total=self.max_iter, initial=it, desc="DEC", disable=not self.verbose)
        self._show(bar)
        batches = self._batches(n, it)
        while it < self.max_iter:
            # update_interval gradient steps on KL(P || Q), with P held fixed
            losses = np.zeros(2)                # L_c and L_r summed over these steps
            stop = min(it + self.update_interval, self.max_iter)
            for step in range(it, stop):
                idx = next(batches)
                step_losses = self._train_step(X[idx], p[idx], step)
                if not np.isfinite(step_losses).all():   # before a NaN reaches a checkpoint
                    bar.close()
                    raise self._diverged(step_losses, step, n, X[idx])
                losses += step_losses
                bar.update()
            it = stop
            if it == self.max_iter:
                break
            # refresh Q, P and the labels; stop when few labels changed
            p, labels, delta = self._refresh(X, y, it, labels, losses / self.update_interval)
            self._show(bar)
            if delta < self.tol:
                break
            if checkpoint is not None:
                self.save_checkpoint(checkpoint, it, p, labels)
        bar.close()
        self.n_iter_ = min(it, self.max_iter)   # a checkpoint past max_iter counts as max_iter
        self.labels_ = self.predict(X)
        return self

    def _start(self, X, y, checkpoint):
        """K-means on the codes (or ``init``) gives the centroids and the first labels; then
        the refresh at step 0, which only computes :math:`P` (nothing has trained yet)."""
        centers, labels = self._initial_centroids(self._codes(X))
        self._build(centers)
        self.history_ = {k: [] for k in ("iteration", "loss", "reconstruction_loss",
                                         "delta_label", "acc", "nmi")}
        p, labels, _ = self._refresh(X, y, 0, labels, np.full(2, np.nan))
        if checkpoint is not None:
            self.save_checkpoint(checkpoint, 0, p, labels)
        return 0, p, labels

    def _refresh(self, X, y, it, labels_last, mean_losses):
        r"""Steps 1 and 2 at training step ``it``: :math:`Q` of the whole data with the current
        weights, the target :math:`P`, the labels and the fraction of them that changed since
        ``labels_last``; logged in ``history_`` and passed to the callbacks.

        Returns ``(P, labels, delta)``.
        """
        q = self.predict_proba(X)
        labels = q.argmax(axis=1)
        delta = float(np.mean(labels != labels_last))
        h = self.history_
        h["iteration"].append(it)
        h["loss"].append(float(mean_losses[0]))     # nan at step 0: no batch trained yet
        h["reconstruction_loss"].append(float(mean_losses[1]))
        h["delta_label"].append(delta)
        if y is not None:
            from ..metrics import clustering_accuracy, normalized_mutual_info_score
            h["acc"].append(float(clustering_accuracy(y, labels)))
            h["nmi"].append(float(normalized_mutual_info_score(y, labels)))
        logs = {k: v[-1] for k, v in h.items() if v}
        for callback in self.callbacks:
            callback(self, logs)
        return target_distribution(q), labels, delta

    def _batches(self, n, step):
        """The batches of steps ``step``, ``step + 1``, ...: each pass over the data walks
        through its own permutation, seeded by ``(seed, pass)``, so a resumed run draws
        exactly the batches of the uninterrupted one."""
        n_batches = math.ceil(n / self.batch_size)
        epoch, b = divmod(step, n_batches)
        while True:
            order = np.random.default_rng([self._seed, epoch]).permutation(n)
            for b in range(b, n_batches):
                yield order[b * self.batch_size:(b + 1) * self.batch_size]
            epoch, b = epoch + 1, 0

    def _train_step(self, xb, pb, step):
        r"""One batch: :math:`L_c = KL(P \| Q)` (+ :math:`\lambda L_r`), backward, update; with
        ``augment``, on a random variant of the batch (P stays that of the plain images).

        A NaN or infinite loss skips the update (``fit`` then raises
        :class:`~scratchnet.nn.TrainingDivergedError`).
        """
        xb = xb.astype(self._dtype, copy=False)
        if self.augment is not None:
            xb = self.augment(xb, np.random.default_rng([self._seed, step, 1]))
            xb = xb.astype(self._dtype, copy=False)
        if self.reconstruction_weight == 0:  # DEC: the chain's step, as fit's
            return self._chain.train_step(xb, pb.astype(self._dtype, copy=False), self._kl,
                                            self.optimizer_), 0.0
        # IDEC: the decoder branches off the codes (_dec_step.py has the pass written out)
        self._idec_step.step(xb, pb.astype(self._dtype, copy=False), self._idec_loss,
                             self.optimizer_)
        return self._idec_step.losses(self._idec_loss, len(xb))

    # -- inference ----------------------------------------------------------------------------
    def predict_proba(self, X, batch_size=1024):
        """Soft assignments :math:`Q` (N, K) of new data (rows sum to 1)."""
        self._check_fitted("predict_proba")
        X = check_X(X, "predict_proba")
        mu = self.clustering_.mu.value
        return np.concatenate([soft_assignment(self._codes(X[s:s + batch_size]), mu, self.alpha)
                               for s in range(0, len(X), batch_size)])

    def predict(self, X, batch_size=1024):
        """Hard cluster labels :math:`\\arg\\max_j q_{ij}` (N,) int64 of new data."""
        return self.predict_proba(X, batch_size).argmax(axis=1)

    @property
    def cluster_centers_(self):
        self._check_fitted("cluster_centers_")
        return self.clustering_.mu.value

    # -- checkpoint (the file format and resuming: _dec_checkpoint.py) ------------------------
    def save_checkpoint(self, path, iteration, p, labels):
        """Write the state of a run at a refresh to one ``.npz`` (atomic: temp file + rename).

        Keys: ``encoder.<i>`` and, for IDEC, ``decoder.<i>`` (weights in ``parameters()``
        order), ``mu``, ``optimizer.t`` and ``optimizer.<slot>.<i>`` (its ``state_dict()``),
        ``iteration``, ``seed``, ``target`` (P), ``labels`` and ``history.<key>``.
        NaN or infinite weights are refused (``ValueError``): a diverged run never overwrites
        a good checkpoint.
        """
        _dec_checkpoint.save(self, path, iteration, p, labels)

    # -- helpers ------------------------------------------------------------------------------
    def _initial_centroids(self, Z):
        """``(centroids, labels)`` to start from: K-means on the codes ``Z``, or ``init``."""
        init = self._init
        if isinstance(init, str):
            km = KMeans(self.n_clusters, n_init=self.n_init, random_state=self._seed).fit(Z)
            return km.cluster_centers_, km.labels_.astype(np.int64)
        if init.shape[1] != Z.shape[1]:
            raise ValueError(f"DEC.fit: expected init of shape ({self.n_clusters}, "
                             f"{Z.shape[1]}) for the encoder's {Z.shape[1]}-d codes, got "
                             f"{init.shape}")
        centers = init.astype(Z.dtype)
        labels = [soft_assignment(Z[i:i + 4096], centers, self.alpha).argmax(axis=1)
                  for i in range(0, len(Z), 4096)]   # q is largest at the nearest centroid
        return centers, np.concatenate(labels).astype(np.int64)

    def _build(self, centers):
        """Clustering layer, losses and optimizer on encoder + centroid (+ decoder) parameters."""
        self._dtype = self._encoder_dtype()
        self.clustering_ = ClusteringLayer(np.asarray(centers, dtype=self._dtype), self.alpha)
        params = self.encoder.parameters() + self.clustering_.parameters()
        if self.reconstruction_weight > 0:
            params += self.decoder.parameters()
        make = _OPTIMIZERS[self.optimizer or "sgd"] if not callable(self.optimizer) \
            else self.optimizer
        self.optimizer_ = make(params)
        if not isinstance(self.optimizer_, Optimizer):
            raise TypeError(f"DEC: the optimizer callable must return an Optimizer, got "
                            f"{type(self.optimizer_).__name__}")
        self._kl, self._rec = KLDivLoss(), _RECONSTRUCTION[self.reconstruction_loss]()
        # DEC's network is one chain, encoder then clustering layer: it trains by the step
        # Sequential.fit takes (the five textbook lines, or the batch split across the cores
        # when the encoder has Numba kernels, e.g. a convolutional one)
        self._chain = Sequential(list(self.encoder.layers) + [self.clustering_])
        if self.reconstruction_weight > 0:   # IDEC: the branching step, split the same way
            self._idec_step = IDECStep(self.encoder, self.clustering_, self.decoder)
            self._idec_loss = IDECLoss(self._kl, self._rec, self.reconstruction_weight)

    def _prepare(self, X, y):
        """``fit``'s checks of the parameters and the data, and the seed of the batch order."""
        self._init = check_params(self, _RECONSTRUCTION, _OPTIMIZERS)
        X = check_X(X, "fit")
        n = len(X)
        if self.n_clusters > n:
            raise ValueError(f"DEC.fit: expected n_clusters <= n_samples, got n_clusters="
                             f"{self.n_clusters} for {n} samples")
        if y is not None and np.shape(y) != (n,):
            raise ValueError(f"DEC.fit: expected y of shape ({n},), got {np.shape(y)}")
        self._seed = (int(np.random.SeedSequence().entropy) if self.random_state is None
                      else int(self.random_state))
        return X

    def _show(self, bar):
        """The latest refresh's loss and label change on the progress bar."""
        loss, delta = self.history_["loss"][-1], self.history_["delta_label"][-1]
        bar.set_postfix(loss=f"{loss:.4g}" if np.isfinite(loss) else "-",
                        delta=f"{delta:.4f}", refresh=False)

    def _diverged(self, losses, step, n, batch):
        """The :class:`~scratchnet.nn.TrainingDivergedError` for a NaN/inf loss at ``step``."""
        value = losses[0] if not np.isfinite(losses[0]) else losses[1]
        epoch = step // math.ceil(n / self.batch_size)
        return diverged("DEC.fit", value, epoch + 1, step + 1, self.optimizer_, batch=batch)

    def _encoder_dtype(self):
        dtype = self.encoder.dtype                  # None for an encoder without weights
        return np.float32 if dtype is None else dtype

    def _codes(self, X):
        Z = self.encoder.predict(X.astype(self._encoder_dtype(), copy=False),
                                 batch_size=max(self.batch_size, 256))
        if Z.ndim != 2:
            raise ValueError(f"DEC: expected the encoder to output codes (N, D), got shape "
                             f"{Z.shape}; end a convolutional encoder with Flatten()")
        return Z

    def __repr__(self):
        kind = "IDEC" if self.reconstruction_weight > 0 else "DEC"
        return (f"DEC(n_clusters={self.n_clusters}, alpha={self.alpha}, "
                f"update_interval={self.update_interval}, tol={self.tol}) [{kind}]")
