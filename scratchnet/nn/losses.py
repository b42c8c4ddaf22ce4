r"""Losses: mean squared error, binary cross-entropy and DEC's KL divergence.

A loss is called as ``loss(pred, target) -> float`` (``__call__`` is ``forward``) and
``loss.backward()`` then returns :math:`\partial L / \partial \text{pred}`, shaped like ``pred``,
to feed into the model's ``backward``. ``target`` is cast to ``pred``'s dtype, so a float32 model
gets a float32 gradient.

A loss keeps what ``backward`` needs (and BCE keeps scratch buffers) on the instance, so one
instance serves one training loop at a time; ``copy.copy(loss)`` gives a fresh, independent
instance (for another thread).
"""
import numpy as np

__all__ = ["Loss", "MSELoss", "BCELoss", "KLDivLoss"]


class Loss:
    """Base class: validation, ``__call__`` = ``forward``, and the backward-before-forward check."""

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def forward(self, pred, target):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    @property
    def name(self):
        return type(self).__name__

    def get_config(self):
        return {}

    def __copy__(self):
        # Scratch buffers and saved state must not be shared between copies (threads).
        return type(self)(**self.get_config())

    def __repr__(self):
        return f"{self.name}()"

    def _check(self, pred, target, ndim=None):
        for what, arr in (("pred", pred), ("target", target)):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"{self.name}: expected {what} as a NumPy array, "
                                f"got {type(arr).__name__}")
        if pred.dtype.kind != "f":
            raise TypeError(f"{self.name}: expected a floating-point pred, got dtype {pred.dtype}")
        if pred.shape != target.shape:
            raise ValueError(f"{self.name}: pred and target must have the same shape, "
                             f"got pred {pred.shape} and target {target.shape}")
        if ndim is not None and pred.ndim != ndim:
            raise ValueError(f"{self.name}: expected pred of shape (N, K), got {pred.shape}")
        if pred.size == 0:
            raise ValueError(f"{self.name}: got an empty batch, pred shape {pred.shape}")
        return target.astype(pred.dtype, copy=False)

    def _require_forward(self):
        if getattr(self, "_n", None) is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")


class MSELoss(Loss):
    r"""Mean squared error over *all* elements.

    .. math:: L = \frac{1}{M} \sum_{i} (\hat y_i - y_i)^2, \qquad
              \frac{\partial L}{\partial \hat y_i} = \frac{2}{M} (\hat y_i - y_i)

    where :math:`M` is the total number of elements (batch × features). This is what Keras's
    ``"mse"`` gives for these shapes: a mean over the last axis, then over the batch — equal to
    the mean over all elements since every row has the same length. PyTorch's ``MSELoss()`` with
    ``reduction="mean"`` is the same.

    Examples
    --------
    >>> import numpy as np
    >>> MSELoss()(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    2.5
    """

    def __init__(self):
        self._diff = self._n = None

    def forward(self, pred, target):
        target = self._check(pred, target)
        d = np.subtract(pred, target)
        flat = d.reshape(-1)
        self._diff, self._n, self._grad = d, d.size, None
        return float(flat @ flat) / d.size

    def backward(self):
        self._require_forward()
        if self._grad is None:  # scale the difference in place: no second temporary
            self._diff *= 2.0 / self._n
            self._grad = self._diff
        return self._grad


class BCELoss(Loss):
    r"""Binary cross-entropy over *all* elements, with Keras's clipping.

    Parameters
    ----------
    eps : float, default 1e-7
        ``pred`` is clipped to :math:`[\varepsilon, 1 - \varepsilon]` (Keras's
        ``backend.epsilon()``), so the loss is always finite.

    Notes
    -----
    With :math:`p = \operatorname{clip}(\hat y, \varepsilon, 1 - \varepsilon)` and :math:`M` the
    total number of elements,

    .. math:: L = -\frac{1}{M} \sum_i \big[ y_i \log p_i + (1 - y_i) \log(1 - p_i) \big], \qquad
              \frac{\partial L}{\partial \hat y_i} = \frac{1}{M} \frac{p_i - y_i}{p_i (1 - p_i)}

    inside the clip range and 0 outside it (the derivative of the clip). Keras's
    ``"binary_crossentropy"`` on (N, H, W, C) images averages the last axis and then the rest,
    which for equal row lengths is this mean over all elements. Targets may be soft (any value
    in [0, 1], e.g. pixel intensities); a target outside [0, 1] raises ``ValueError``, since
    the loss then has no lower bound (images left in 0..255 trained "fine" to a loss of -1479).

    Examples
    --------
    >>> import numpy as np
    >>> round(BCELoss()(np.array([[0.5, 1.0]]), np.array([[1.0, 1.0]])), 4)
    0.3466
    """

    def __init__(self, eps=1e-7):
        if not 0 < eps < 0.5:
            raise ValueError(f"BCELoss: eps must be in (0, 0.5), got {eps}")
        self.eps = float(eps)
        self._n = None
        self._bufs = ()

    def get_config(self):
        return {"eps": self.eps}

    def _buffers(self, like):
        # Reused scratch arrays: fresh multi-MB temporaries cost page faults on every call
        # (measured on a 256x3x32x32 batch: 9.2 ms with fresh temporaries, 5.2 ms reused).
        if not self._bufs or self._bufs[0].shape != like.shape or self._bufs[0].dtype != like.dtype:
            self._bufs = (np.empty_like(like), np.empty_like(like), np.empty_like(like))
        return self._bufs

    def forward(self, pred, target):
        target = self._check(pred, target)
        # Outside [0, 1] the loss is unbounded below (255-valued pixels gave -1479) and
        # training "succeeds" towards nonsense. Two reductions over the batch, small beside the
        # eight passes below; every caller (fit, evaluate, the threads' copies, IDEC) comes here.
        lo, hi = float(target.min()), float(target.max())
        if not (lo >= 0.0 and hi <= 1.0):       # written so that NaN fails too
            raise ValueError(f"BCELoss: expected targets in [0, 1], got values from {lo:g} to "
                             f"{hi:g}; scale the images to [0, 1] first (e.g. divide 0..255 "
                             "pixels by 255)")
        pc, log_p, work = self._buffers(pred)
        np.clip(pred, self.eps, 1 - self.eps, out=pc)
        np.log(pc, out=log_p)
        np.subtract(1, pc, out=work)
        np.log(work, out=work)                  # log(1 - p)
        # y log p + (1 - y) log(1 - p) = log(1 - p) + y (log p - log(1 - p)), in place
        log_p -= work
        log_p *= target
        log_p += work
        self._pred, self._target, self._n, self._grad = pred, target, pred.size, None
        return -float(log_p.sum(dtype=np.float64)) / pred.size

    def backward(self):
        self._require_forward()
        if self._grad is None:
            pc, _, work = self._buffers(self._pred)
            g = np.subtract(pc, self._target)   # the returned array: fresh, the caller's to keep
            np.subtract(1, pc, out=work)
            work *= pc
            g /= work
            g *= 1.0 / self._n
            clipped = np.not_equal(pc, self._pred)
            if clipped.any():
                g[clipped] = 0
            self._grad = g
        return self._grad


class KLDivLoss(Loss):
    r"""Kullback–Leibler divergence :math:`KL(P \| Q)`, summed over clusters, mean over samples.

    Called as ``loss(q, p)``: ``pred`` is DEC's soft assignment :math:`Q` and ``target`` its
    target distribution :math:`P`, both (N, K) with rows summing to 1.

    Parameters
    ----------
    eps : float, default 1e-7
        Both arguments are clipped to :math:`[\varepsilon, 1]`, as Keras's
        ``"kullback_leibler_divergence"`` does, so zeros give finite values.

    Notes
    -----
    .. math:: L = \frac{1}{N} \sum_{i=1}^{N} \sum_{j=1}^{K} p_{ij} \log \frac{p_{ij}}{q_{ij}},
              \qquad \frac{\partial L}{\partial q_{ij}} = -\frac{1}{N} \frac{p_{ij}}{q_{ij}}

    (with the clipped values; the gradient is 0 where :math:`q_{ij}` is clipped). :math:`P` is
    treated as a constant, as in DEC (Xie, Girshick & Farhadi 2016, arXiv:1511.06335), where it
    is recomputed only every few iterations.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[0.5, 0.5]]); KLDivLoss()(q, q)
    0.0
    """

    def __init__(self, eps=1e-7):
        self.eps = float(eps)
        self._n = None

    def get_config(self):
        return {"eps": self.eps}

    def forward(self, pred, target):
        target = self._check(pred, target, ndim=2)
        q = np.clip(pred, self.eps, 1)
        p = np.clip(target, self.eps, 1)
        self._q, self._p, self._pred, self._n = q, p, pred, pred.shape[0]
        return float(np.sum(p * np.log(p / q), dtype=np.float64)) / self._n

    def backward(self):
        self._require_forward()
        g = self._p / self._q
        g *= -1.0 / self._n
        g[self._q != self._pred] = 0
        return g
