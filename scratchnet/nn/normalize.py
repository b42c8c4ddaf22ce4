r"""Row-wise L2 normalisation: put every code on a sphere of radius ``scale``.

Why a clustering library wants it: an autoencoder's bottleneck mixes two things, *what* an
image is (the direction of its code) and *how much* of it there is (the length: brightness,
ink, size). K-means and DEC's Student-t kernel measure Euclidean distance, so two shirts of
different brightness can sit further apart than a shirt and a pullover of the same brightness.
Dividing each code by its length keeps only the direction; Euclidean distance on the sphere is
then a function of the cosine, :math:`\lVert u - v \rVert^2 = 2 - 2\cos(u, v)`. On Fashion-MNIST
codes this alone moved K-means' accuracy from 0.498 to 0.573 (see ``examples/mnist_dec.py``).

``scale`` sets the sphere's radius. It matters for DEC, whose kernel
:math:`(1 + d^2/\alpha)^{-(\alpha + 1)/2}` is not scale-free: on the unit sphere every squared
distance is at most 4, all soft assignments are nearly uniform and the target distribution
barely sharpens them; a radius comparable to the raw codes' length keeps the kernel's contrast.
"""
import numpy as np

from .base import Layer, check_input


class L2Normalize(Layer):
    r"""Scale each row to length ``scale``: :math:`y = s\, x / \max(\lVert x \rVert, \epsilon)`.

    Parameters
    ----------
    scale : float
        The output rows' length :math:`s` (> 0).
    epsilon : float
        Floor on the norm, so a zero row maps to zero instead of NaN (PyTorch's
        ``F.normalize`` uses the same rule).

    Notes
    -----
    With :math:`n = \lVert x \rVert` and :math:`u = x / n`, the Jacobian is
    :math:`\partial y / \partial x = \tfrac{s}{n} (I - u u^\top)`: the projection that removes
    the radial direction (moving :math:`x` along itself does not change :math:`y`). It is
    symmetric, so the backward pass is

    .. math:: \frac{\partial L}{\partial x} = \frac{s}{n}\left(G - u\, (u \cdot G)\right),

    row by row, O(D) per row without forming the D×D matrix. Rows whose norm is below
    :math:`\epsilon` are on the linear branch :math:`y = s x / \epsilon`, gradient :math:`s G /
    \epsilon`.

    Examples
    --------
    >>> import numpy as np
    >>> L2Normalize()(np.array([[3.0, 4.0], [0.0, 0.0]]))
    array([[0.6, 0.8],
           [0. , 0. ]])
    """

    def __init__(self, scale=1.0, epsilon=1e-12):
        if not (np.isscalar(scale) and scale > 0) or not (np.isscalar(epsilon) and epsilon > 0):
            raise ValueError(f"L2Normalize: expected scale > 0 and epsilon > 0, got "
                             f"scale={scale!r}, epsilon={epsilon!r}")
        self.scale, self.epsilon = float(scale), float(epsilon)
        self._u = None

    def forward(self, x):
        check_input(self, x, 2, "(N, D)")
        if x.dtype.kind != "f":
            raise TypeError(f"{self.name}: expected a floating-point input, got dtype {x.dtype}")
        norm = np.sqrt(np.einsum("nd,nd->n", x, x))[:, None]
        self._small = norm < self.epsilon
        self._n = np.maximum(norm, self.epsilon).astype(x.dtype)
        self._u = x / self._n
        return self.scale * self._u

    def backward(self, grad):
        self._require_forward("_u")
        u = self._u
        radial = np.einsum("nd,nd->n", u, grad)[:, None]
        # on the linear branch (tiny rows) the radial part is not removed
        radial = np.where(self._small, 0, radial).astype(grad.dtype, copy=False)
        return (self.scale / self._n) * (grad - u * radial)

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {"scale": self.scale, "epsilon": self.epsilon}
