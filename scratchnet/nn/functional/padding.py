r"""Padding rules: how many zeros go on each side of an image, and the output size they give.

Every convolution in scratchnet is described by the *forward* convolution it is (or that it is
the adjoint of): an input of size ``n``, a kernel ``k``, a stride ``s`` and the zeros added
before (top/left) and after (bottom/right). Its output size is

.. math:: n_{out} = \left\lfloor \frac{n + p_{before} + p_{after} - k}{s} \right\rfloor + 1

Conventions (Keras/TensorFlow, so the write-ups' shapes come out exactly):

* ``"valid"``: no padding.
* ``"same"``: :math:`n_{out} = \lceil n / s \rceil`, total padding
  :math:`p = \max((n_{out} - 1) s + k - n, 0)`, ``p // 2`` before and the odd pixel after
  (bottom/right). PyTorch's ``padding="same"`` puts it on the other side and refuses strides > 1.
* an int ``p``: ``p`` zeros on both sides, as in PyTorch.

A transposed convolution with input size ``m`` returns the size ``n`` of the convolution whose
adjoint it is (Dumoulin & Visin 2016, arXiv:1603.07285, section 4):

* ``"valid"``: :math:`n = (m - 1) s + k + \text{output\_padding}`;
* an int ``p``: :math:`n = (m - 1) s + k - 2p + \text{output\_padding}`;
* ``"same"``: :math:`n = m s` (Keras), the padding then being that of a "same" convolution
  of an input of size ``m s``.

``output_padding`` adds rows/columns at the bottom/right that the forward convolution never
reads (its floor division drops them); they receive the bias only.
"""


def check_padding(name, padding):
    """Validate a padding argument; return it unchanged (``"same"``, ``"valid"`` or int >= 0)."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f'{name}: padding must be "same", "valid" or an int >= 0, '
                             f"got {padding!r}")
        return padding
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f'{name}: padding must be "same", "valid" or an int >= 0, '
                         f"got {padding!r}")
    return int(padding)


def conv_output_size(n, k, s, padding):
    r"""Output size and padding of a convolution along one axis.

    Parameters
    ----------
    n : int
        Input size.
    k, s : int
        Kernel size and stride.
    padding : {"same", "valid"} or int

    Returns
    -------
    n_out, p_before, p_after : int
    """
    if padding == "same":
        n_out = -(-n // s)
        total = max((n_out - 1) * s + k - n, 0)
        return n_out, total // 2, total - total // 2
    p = 0 if padding == "valid" else padding
    n_out = (n + 2 * p - k) // s + 1
    return n_out, p, p


def conv_transpose_output_size(m, k, s, padding, output_padding=0):
    r"""Output size of a transposed convolution along one axis, and the padding of its mirror.

    Parameters
    ----------
    m : int
        Input size (the output size of the mirrored convolution).
    k, s : int
        Kernel size and stride.
    padding : {"same", "valid"} or int
    output_padding : int
        Extra rows/columns at the bottom/right (``"valid"`` or int padding only).

    Returns
    -------
    n, p_before, p_after : int
        The transposed convolution's output size, and the padding of the convolution of an
        ``n``-sized input whose adjoint it is.
    """
    if padding == "same":
        n = m * s
        _, before, after = conv_output_size(n, k, s, "same")
        return n, before, after
    p = 0 if padding == "valid" else padding
    return (m - 1) * s + k - 2 * p + output_padding, p, p
