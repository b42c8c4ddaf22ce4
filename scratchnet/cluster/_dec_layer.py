r"""DEC's model: the soft assignment :math:`Q`, the target :math:`P`, and the layer with the
centroids whose backward is the gradient of :math:`KL(P \| Q)` (Xie et al. 2016, eq. 4-5).

:func:`soft_assignment` and :class:`ClusteringLayer` share one Student's t kernel,
:func:`_student_t`; the layer keeps its intermediate arrays for the backward. The training loop
that uses them is :meth:`scratchnet.cluster.DEC.fit`, in ``dec.py``.

References
----------
.. [1] J. Xie, R. Girshick and A. Farhadi, "Unsupervised Deep Embedding for Clustering
   Analysis", ICML 2016, arXiv:1511.06335.
"""
import numpy as np

from ..nn.base import Layer, Parameter, check_input

__all__ = ["ClusteringLayer", "soft_assignment", "target_distribution"]


def soft_assignment(z, mu, alpha=1.0):
    r"""DEC's soft assignment of codes to centroids (a Student's t kernel).

    Parameters
    ----------
    z : ndarray (N, D)
        Codes.
    mu : ndarray (K, D)
        Centroids.
    alpha : float
        Degrees of freedom of the Student's t distribution.

    Returns
    -------
    q : ndarray (N, K), rows sum to 1

    Notes
    -----
    .. math:: q_{ij} = \frac{(1 + \lVert z_i - \mu_j \rVert^2 / \alpha)^{-(\alpha+1)/2}}
              {\sum_{j'} (1 + \lVert z_i - \mu_{j'} \rVert^2 / \alpha)^{-(\alpha+1)/2}}

    the kernel of t-SNE (van der Maaten & Hinton 2008); DEC uses :math:`\alpha = 1`.

    Examples
    --------
    >>> q = soft_assignment(np.array([[0.0], [2.0]]), np.array([[0.0], [2.0]]))
    >>> np.round(q, 2).tolist()
    [[0.83, 0.17], [0.17, 0.83]]
    """
    return _student_t(z, mu, alpha)[2]


def _student_t(z, mu, alpha):
    r"""The kernel of :func:`soft_assignment`, with what :class:`ClusteringLayer`'s backward
    reuses: ``diff`` (N, K, D) :math:`= z_i - \mu_j`, ``t`` (N, K)
    :math:`= 1 + \lVert z_i - \mu_j \rVert^2 / \alpha` and ``q`` (N, K)."""
    diff = z[:, None, :] - mu[None, :, :]
    t = 1.0 + (diff ** 2).sum(axis=2) / alpha
    u = t ** (-(alpha + 1.0) / 2.0)
    return diff, t, u / u.sum(axis=1, keepdims=True)


def target_distribution(q):
    r"""DEC's auxiliary target: sharpen :math:`Q` and normalise by cluster frequency.

    Parameters
    ----------
    q : ndarray (N, K), rows sum to 1

    Returns
    -------
    p : ndarray (N, K), rows sum to 1

    Notes
    -----
    .. math:: p_{ij} = \frac{q_{ij}^2 / f_j}{\sum_{j'} q_{ij'}^2 / f_{j'}}, \qquad
              f_j = \sum_i q_{ij}

    Squaring puts more weight on confident assignments; dividing by the soft cluster size
    :math:`f_j` keeps large clusters from distorting the embedding [1]_.

    Examples
    --------
    >>> p = target_distribution(np.array([[0.6, 0.4], [0.4, 0.6]]))
    >>> np.round(p, 3).tolist()
    [[0.692, 0.308], [0.308, 0.692]]
    """
    w = q ** 2 / q.sum(axis=0)
    return w / w.sum(axis=1, keepdims=True)


class ClusteringLayer(Layer):
    r"""The layer that holds the centroids :math:`\mu` and outputs the soft assignment :math:`Q`.

    Parameters
    ----------
    centers : ndarray (K, D)
        Initial centroids (copied), e.g. K-means centers of the codes.
    alpha : float, default 1.0

    Attributes
    ----------
    mu : Parameter, shape (K, D)

    Notes
    -----
    Forward is :func:`soft_assignment`, with :math:`d_{ij} = \lVert z_i - \mu_j \rVert^2`,
    :math:`t_{ij} = 1 + d_{ij}/\alpha` and :math:`e = (\alpha + 1)/2`. Backward, with
    :math:`G = \partial L / \partial Q` and :math:`s_i = \sum_k G_{ik} q_{ik}`: the softmax-like
    normalisation and the kernel give

    .. math:: A_{ij} = \frac{\partial L}{\partial d_{ij}}
                     = -\frac{e}{\alpha} \frac{q_{ij} (G_{ij} - s_i)}{t_{ij}}, \qquad
              \frac{\partial L}{\partial z_i} = 2 \sum_j A_{ij} (z_i - \mu_j), \qquad
              \frac{\partial L}{\partial \mu_j} = -2 \sum_i A_{ij} (z_i - \mu_j)

    With the KL loss (:math:`G_{ij} = -p_{ij} / (N q_{ij})`) this is DEC's equation (4)/(5):
    :math:`A_{ij} = \frac{\alpha+1}{2\alpha} \frac{p_{ij} - q_{ij}}{N t_{ij}}`.
    """

    # O(N K D) per pass, next to the encoder's products: never worth splitting a batch for
    threads_inside = True

    def __init__(self, centers, alpha=1.0):
        centers = np.asarray(centers)
        if centers.ndim != 2 or centers.dtype.kind != "f":
            raise ValueError(f"ClusteringLayer: expected float centers (K, D), got "
                             f"{centers.shape} {centers.dtype}")
        if not alpha > 0:
            raise ValueError(f"ClusteringLayer: expected alpha > 0, got {alpha!r}")
        self.mu = Parameter(np.array(centers, order="C"))
        self.alpha = float(alpha)
        self._z = None

    def forward(self, z):
        k, dim = self.mu.shape
        check_input(self, z, 2, f"(N, {dim})", channels=dim)
        self._diff, self._t, self._q = _student_t(z, self.mu.value, self.alpha)
        self._z = z
        return self._q

    def backward(self, grad):
        self._require_forward("_z")
        q, e = self._q, (self.alpha + 1.0) / 2.0
        s = (grad * q).sum(axis=1, keepdims=True)
        A = (-e / self.alpha) * q * (grad - s) / self._t             # dL/dd, (N, K)
        self.mu.grad -= 2.0 * np.einsum("ij,ijf->jf", A, self._diff)
        return 2.0 * np.einsum("ij,ijf->if", A, self._diff)

    def parameters(self):
        return [self.mu]

    def output_shape(self, input_shape):
        return (self.mu.shape[0],)

    def get_config(self):
        return {"alpha": self.alpha}
