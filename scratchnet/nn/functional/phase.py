r"""The phase-grid convolution: the direct convolution the Numba backend runs, in plain NumPy
and in Numba.

Same maths and index names as :mod:`.im2col` (n sample, c input channel, f output channel,
ky/kx kernel tap, oy/ox output pixel), a different algorithm; the tests hold the two equal.

Why not im2col + GEMM here? The autoencoders' layers have few channels (3→8, 16→8, 8→3, 1→16,
2→2...), so the GEMMs are thin (K = C·kh·kw = 27..288, M = F = 2..32) and the column matrix is
9× the input: memory traffic, not arithmetic, is the cost. A direct convolution reads each input
plane once per tap straight from cache.

The trick that makes the inner loop long and contiguous: lay the zero-padded input planes out
flat with row stride ``Wq``, *all samples one after the other* (``P[c, n·S + a·Wq + b]`` with
``S = Hq·Wq``), and compute the output on the *same* grid (the last columns of each row and the
last rows of each sample being junk that is never copied out). Then, at stride 1, tap (ky, kx)
is one loop ``A[f, j] += w[f, c, ky, kx] · P[c, j + ky·Wq + kx]`` over
``L = (N-1)·S + (Ho-1)·Wq + Wo`` contiguous entries, which LLVM turns into SIMD FMAs. Running
over the whole batch at once matters for the 4×4 and 8×8 layers, whose per-sample loops would
be 20 to 80 long.

A stride ``s > 1`` would break that contiguity, so the padded input is first split into ``s²``
*phases* ``P[ry, rx][a, b] = x̃[s·a + ry, s·b + rx]``. With ``ky = s·qy + ry`` (``ry = ky % s``),

.. math:: \tilde x_{s o_y + k_y} = P[r_y]_{o_y + q_y},

so a stride-s convolution is a stride-1 convolution of each phase with the taps ``ky ≡ ry
(mod s)``, shifted by ``qy = ky // s`` (:mod:`.taps` works it through). Every map is then
three steps, the same in both versions below:

1. lay the data out (:mod:`.phase_layout`): ``x`` onto the phase planes ``P``, or ``g``
   onto the output grid ``G``;
2. run the tap loops (:mod:`.taps`): the forward sum, the scatter of the input gradient onto
   ``dP``, or the dot products of the weight gradient;
3. lay the result back out: off the grid into ``y``, or the phases back into ``dx``.

Reading order: :func:`conv2d_phase_reference` (plain NumPy), then its fast twin
:func:`_conv2d_phase` right below it, same arguments and IN/OUT contract, calling the Numba
kernels of the three steps; then the other four maps, each the same way; last, the public
functions the Numba backend calls (:func:`conv2d_phase`...), which allocate the outputs and the
work buffers.

The five fast maps are plain Python calling three to five Numba kernels each, not kernels
themselves: a Numba function that calls others compiles their code again inside its own, so
five compiled maps cost 13.6 s of compiling on a machine's first run, the kernels alone 6.2 s
(2026-12-07, Intel Xeon, an empty ``NUMBA_CACHE_DIR``, ``examples/cifar_ae_kmeans.py
--quick``), and the few extra Python calls cost nothing measurable in a training step
(``benchmarks/bench_nn.py``).

The kernels take their work buffers from the caller (``P``, ``G``, ``A``; see
``buffer_shapes``), so that a layer can reuse them from one batch to the next: fresh multi-MB
temporaries cost page faults on every call. All kernels are single-threaded and release the GIL
(``nogil``): the parallel training step runs two of them at once on two halves of the batch
(see :mod:`scratchnet.nn._parallel`).
"""
import numpy as np

from .im2col import output_hw
from .phase_layout import (_from_grid_kernel, _phase_split_kernel, _to_grid_kernel,
                           _unphase_kernel, buffer_shapes, from_grid_reference, phase_grid,
                           phase_split_reference, to_grid_reference, unphase_reference)
from .taps import (_taps_backward_input_kernel, _taps_backward_weight_kernel,
                   _taps_forward_kernel, taps_backward_input_reference,
                   taps_backward_weight_reference, taps_forward_reference)


def conv2d_phase_reference(x, w, b, s, pt, pl, y, P, A):
    """y = conv(x, w) + b in plain NumPy: split into phases, run the taps, copy off the grid.

    x (N,C,H,W), w (F,C,kh,kw), b (F,): IN;  y (N,F,Ho,Wo): OUT;  P, A: work buffers of
    ``buffer_shapes``.
    """
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    phase_split_reference(x, s, pt, pl, Hq, Wq, P)
    taps_forward_reference(P, w, b, s, Wq, L, A)
    from_grid_reference(A, Hq, Wq, y)


def _conv2d_phase(x, w, b, s, pt, pl, y, P, A):
    """Fast twin of :func:`conv2d_phase_reference`."""
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split_kernel(x, s, pt, pl, Hq, Wq, P)
    _taps_forward_kernel(P, w, b, s, Wq, L, A)
    _from_grid_kernel(A, Hq, Wq, y)


def conv2d_grad_input_phase_reference(g, w, bias, s, pt, pl, dx, P, G):
    """dx = bias + dL/dx of conv(x, w) given g = dL/dy (a transposed convolution, plus bias).

    g onto the grid, the taps' scatter onto the phase planes, the phases back into an image.
    g (N,F,Ho,Wo), w (F,C,kh,kw), bias (C,): IN;  dx (N,C,H,W): OUT;  P, G: work buffers.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    to_grid_reference(g, Hq, Wq, G)
    taps_backward_input_reference(G, w, s, Wq, L, P)
    unphase_reference(P, s, pt, pl, Hq, Wq, bias, dx)


def _conv2d_grad_input_phase(g, w, bias, s, pt, pl, dx, P, G):
    """Fast twin of :func:`conv2d_grad_input_phase_reference`."""
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _to_grid_kernel(g, Hq, Wq, G)
    _taps_backward_input_kernel(G, w, s, Wq, L, P)
    _unphase_kernel(P, s, pt, pl, Hq, Wq, bias, dx)


def conv2d_grad_weight_phase_reference(x, g, s, pt, pl, dw, P, G):
    """dw += dL/dw of conv(x, w) given g = dL/dy: x's phases and g's grid, then dot products.

    x (N,C,H,W), g (N,F,Ho,Wo): IN;  dw (F,C,kh,kw): IN/OUT (accumulated);  P, G: work buffers.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, dw.shape[2], dw.shape[3], s)
    phase_split_reference(x, s, pt, pl, Hq, Wq, P)
    to_grid_reference(g, Hq, Wq, G)
    taps_backward_weight_reference(P, G, s, Wq, L, dw)


def _conv2d_grad_weight_phase(x, g, s, pt, pl, dw, P, G):
    """Fast twin of :func:`conv2d_grad_weight_phase_reference`."""
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, dw.shape[2], dw.shape[3], s)
    _phase_split_kernel(x, s, pt, pl, Hq, Wq, P)
    _to_grid_kernel(g, Hq, Wq, G)
    _taps_backward_weight_kernel(P, G, s, Wq, L, dw)


def conv2d_backward_phase_reference(x, g, w, s, pt, pl, dx, dw, P, G):
    """Both gradients of a convolution at once: one grid of g serves dw and dx.

    x (N,C,H,W), g (N,F,Ho,Wo), w: IN;  dx: OUT;  dw: IN/OUT (accumulated);  P, G: work.
    """
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    phase_split_reference(x, s, pt, pl, Hq, Wq, P)
    to_grid_reference(g, Hq, Wq, G)
    taps_backward_weight_reference(P, G, s, Wq, L, dw)
    taps_backward_input_reference(G, w, s, Wq, L, P)  # P now holds dL/dP
    unphase_reference(P, s, pt, pl, Hq, Wq, np.zeros(x.shape[1], dtype=dx.dtype), dx)


def _conv2d_backward_phase(x, g, w, s, pt, pl, dx, dw, P, G):
    """Fast twin of :func:`conv2d_backward_phase_reference`."""
    N, F, Ho, Wo = g.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split_kernel(x, s, pt, pl, Hq, Wq, P)
    _to_grid_kernel(g, Hq, Wq, G)
    _taps_backward_weight_kernel(P, G, s, Wq, L, dw)
    _taps_backward_input_kernel(G, w, s, Wq, L, P)  # P now holds dL/dP
    _unphase_kernel(P, s, pt, pl, Hq, Wq, np.zeros(x.shape[1], dtype=dx.dtype), dx)


def conv2d_forward_grad_weight_phase_reference(x, g, w, s, pt, pl, y, dw, P, A):
    """y = conv(x, w) (no bias) and dw += dL/dw for upstream g, sharing one phase split of x.

    This is the backward pass of a transposed convolution, whose upstream gradient is the
    ``x`` here and whose input is the ``g`` here.
    x (N,C,H,W), g (N,F,Ho,Wo), w: IN;  y (N,F,Ho,Wo): OUT;  dw: IN/OUT;  P, A: work.
    """
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    phase_split_reference(x, s, pt, pl, Hq, Wq, P)
    taps_forward_reference(P, w, np.zeros(F, dtype=w.dtype), s, Wq, L, A)
    from_grid_reference(A, Hq, Wq, y)
    to_grid_reference(g, Hq, Wq, A)  # A now holds the grid of g
    taps_backward_weight_reference(P, A, s, Wq, L, dw)


def _conv2d_forward_grad_weight_phase(x, g, w, s, pt, pl, y, dw, P, A):
    """Fast twin of :func:`conv2d_forward_grad_weight_phase_reference`."""
    N, F, Ho, Wo = y.shape
    Hq, Wq, L = phase_grid(N, Ho, Wo, w.shape[2], w.shape[3], s)
    _phase_split_kernel(x, s, pt, pl, Hq, Wq, P)
    _taps_forward_kernel(P, w, np.zeros(F, dtype=w.dtype), s, Wq, L, A)
    _from_grid_kernel(A, Hq, Wq, y)
    _to_grid_kernel(g, Hq, Wq, A)  # A now holds the grid of g
    _taps_backward_weight_kernel(P, A, s, Wq, L, dw)


# ---------------------------------------------------------------------------------------------
# The public functions of the Numba backend: allocate, call the kernel, return
# ---------------------------------------------------------------------------------------------

def _c(a):
    return np.ascontiguousarray(a)


def work_buffers(work, N, C, F, Ho, Wo, kh, kw, s, dtype):
    """Work buffers (phase planes, output grid) for the kernels, reused via ``work``.

    ``work`` is a dict owned by one layer (one per thread); ``None`` allocates fresh ones.
    """
    shapes = buffer_shapes(N, C, F, Ho, Wo, kh, kw, s)
    if work is None:
        return [np.empty(sh, dtype=dtype) for sh in shapes]
    out = []
    for name, sh in zip(("P", "A"), shapes):
        buf = work.get(name)
        size = sh[0] * sh[1]
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = work[name] = np.empty(size, dtype=dtype)
        out.append(buf[:size].reshape(sh))
    return out


def conv2d_phase(x, w, b, stride, pads, work=None):
    """y = conv(x, w) + b: x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> (N, F, Ho, Wo)."""
    F, _, kh, kw = w.shape
    Ho, Wo = output_hw(x.shape, kh, kw, stride, pads)
    y = np.empty((x.shape[0], F, Ho, Wo), dtype=x.dtype)
    if b is None:
        b = np.zeros(F, dtype=x.dtype)
    P, A = work_buffers(work, x.shape[0], x.shape[1], F, Ho, Wo, kh, kw, stride, x.dtype)
    _conv2d_phase(_c(x), _c(w), _c(b), stride, pads[0], pads[2], y, P, A)
    return y


def conv2d_grad_input_phase(g, w, x_shape, stride, pads, work=None, bias=None):
    """dL/dx (shape ``x_shape``) of y = conv(x, w) given g = dL/dy (N, F, Ho, Wo).

    With ``bias`` (C,), returns ``bias[c] + dL/dx``: a transposed convolution with its bias.
    """
    dx = np.empty(x_shape, dtype=g.dtype)
    F, C, kh, kw = w.shape
    if bias is None:
        bias = np.zeros(C, dtype=g.dtype)
    P, G = work_buffers(work, g.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, g.dtype)
    _conv2d_grad_input_phase(_c(g), _c(w), _c(bias), stride, pads[0], pads[2], dx, P, G)
    return dx


def conv2d_grad_weight_phase(x, g, w_shape, stride, pads, work=None):
    """dL/dw (shape ``w_shape`` = (F, C, kh, kw)) of y = conv(x, w) given g = dL/dy."""
    dw = np.zeros(w_shape, dtype=x.dtype)
    F, C, kh, kw = w_shape
    P, G = work_buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _conv2d_grad_weight_phase(_c(x), _c(g), stride, pads[0], pads[2], dw, P, G)
    return dw


def conv2d_backward_phase(x, g, w, stride, pads, work=None):
    """(dL/dx, dL/dw) of y = conv(x, w) given g = dL/dy, in one pass."""
    F, C, kh, kw = w.shape
    dx = np.empty(x.shape, dtype=x.dtype)
    dw = np.zeros(w.shape, dtype=x.dtype)
    P, G = work_buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _conv2d_backward_phase(_c(x), _c(g), _c(w), stride, pads[0], pads[2], dx, dw, P, G)
    return dx, dw


def conv2d_forward_grad_weight_phase(x, g, w, stride, pads, work=None):
    """(conv(x, w) without bias, dL/dw given g = dL/dy): a transposed convolution's backward."""
    F, C, kh, kw = w.shape
    y = np.empty(g.shape, dtype=x.dtype)
    dw = np.zeros(w.shape, dtype=x.dtype)
    P, A = work_buffers(work, x.shape[0], C, F, g.shape[2], g.shape[3], kh, kw, stride, x.dtype)
    _conv2d_forward_grad_weight_phase(_c(x), _c(g), _c(w), stride, pads[0], pads[2], y,
                                             dw, P, A)
    return y, dw
