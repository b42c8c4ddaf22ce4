r"""Finite-difference gradient checks for layers, whole models and losses.

A layer's ``backward`` is correct when, for the scalar :math:`L = \langle f(x), G \rangle` built
from its forward output and a *random* upstream gradient :math:`G`, the gradients it returns and
accumulates equal the central differences

.. math:: \frac{\partial L}{\partial z_i} \approx
          \frac{L(z + \varepsilon e_i) - L(z - \varepsilon e_i)}{2 \varepsilon}

for every entry :math:`z_i` of the input and of every parameter. A random :math:`G` (rather than
all ones) makes a transposed or mis-summed backward visible. The check runs in float64, where
the central difference is accurate to about :math:`\varepsilon^2 |f'''| + 10^{-16} |L| /
\varepsilon`.

Besides the numbers the checker verifies the protocol of :mod:`scratchnet.nn.base`: ``backward``
returns an array shaped like the input, neither ``forward`` nor ``backward`` writes into its
argument, and gradients *accumulate* (a second backward without ``zero_grad`` doubles them).

Example
-------
>>> import numpy as np
>>> from scratchnet.nn import Dense
>>> from scratchnet.testing import check_gradients
>>> layer = Dense(3, 2, random_state=0).astype(np.float64)
>>> x = np.random.default_rng(0).standard_normal((4, 3))
>>> errors = check_gradients(layer, x)
>>> sorted(errors)
['W', 'b', 'x']
"""
import numpy as np

from ._utils import as_rng
from .nn.base import Parameter

__all__ = ["GradientCheckError", "check_gradients", "check_loss_gradients", "named_parameters"]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate (or breaks protocol)."""


def named_parameters(obj):
    """``[(name, Parameter), ...]`` for a layer or a model, in ``parameters()`` order.

    Uses ``obj.named_parameters()`` when the object provides it (``Sequential`` does); otherwise
    names each parameter after the attribute that holds it (``"W"``, ``"b"``), falling back to
    ``"param<i>"`` for a parameter held elsewhere.
    """
    if hasattr(obj, "named_parameters"):
        return list(obj.named_parameters())
    attrs = getattr(obj, "__dict__", {}).items()
    attr_of = {id(v): k for k, v in attrs if isinstance(v, Parameter)}
    return [(attr_of.get(id(p), f"param{i}"), p) for i, p in enumerate(obj.parameters())]


def _require_float64(where, arr):
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"{where}: gradient checks run in float64, got {got} "
                        "(cast inputs with .astype(np.float64) and layers with "
                        "layer.astype(np.float64))")


def _numeric_grad(fun, z, eps, indices):
    """Central differences of the scalar ``fun()`` w.r.t. the entries ``indices`` of ``z``.

    ``z`` is perturbed in place and restored exactly, so ``fun`` sees it through whatever holds
    a reference to it (the input array, or a parameter's ``value``).
    """
    flat = z.reshape(-1)  # a view: z is contiguous (checked by the caller)
    out = np.empty(len(indices))
    for k, i in enumerate(indices):
        old = flat[i]
        flat[i] = old + eps
        plus = fun()
        flat[i] = old - eps
        minus = fun()
        flat[i] = old
        out[k] = (plus - minus) / (2.0 * eps)
    return out


def _pick(size, max_entries, rng):
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _compare(name, analytic, z_shape, numeric, indices, rtol, atol, failures):
    """Record the max error for ``name``; append a readable line to ``failures`` when off."""
    a = analytic.reshape(-1)[indices]
    err = np.abs(a - numeric)
    allowed = atol + rtol * np.abs(numeric)
    worst = int(np.argmax(err - allowed)) if err.size else 0
    if err.size and err[worst] > allowed[worst]:
        where = np.unravel_index(indices[worst], z_shape)
        failures.append(
            f"  {name}: |analytic - numeric| = {err[worst]:.3e} at index {tuple(map(int, where))} "
            f"(analytic {a[worst]:.6e}, numeric {numeric[worst]:.6e}; allowed "
            f"{allowed[worst]:.3e} = atol + rtol*|numeric|); "
            f"{int(np.sum(err > allowed))} of {err.size} entries off")
    return float(err.max()) if err.size else 0.0


def check_gradients(layer, x, *, random_state=0, eps=1e-6, rtol=1e-4, atol=1e-6,
                    max_entries=None):
    r"""Check a layer's (or model's) backward against central finite differences.

    Parameters
    ----------
    layer : Layer or Sequential
        Anything with ``forward``, ``backward``, ``parameters`` and ``zero_grad``, whose
        parameters are float64 (call ``layer.astype(np.float64)`` first). Its ``forward`` must
        read ``Parameter.value`` on every call (the checker perturbs the values in place).
    x : ndarray, float64
        The input. Keep it away from kinks (ReLU at 0, ties in a max-pool window), where the
        function is not differentiable and the central difference is meaningless.
    random_state : int or Generator
        Seeds the random upstream gradient :math:`G` (and the entry sampling).
    eps : float
        Finite-difference step.
    rtol, atol : float
        An entry passes when :math:`|a - n| \le atol + rtol |n|` (``a`` analytic, ``n``
        numeric), the rule of ``np.allclose``.
    max_entries : int, optional
        Check at most this many randomly chosen entries of each array (the input and each
        parameter); ``None`` checks all of them. Use it for big convolution weights.

    Returns
    -------
    dict
        ``{name: max |analytic - numeric|}`` with ``"x"`` for :math:`\partial L/\partial x` and
        one entry per parameter (``"W"``, ``"b"``, or ``"0.W"``... for a Sequential).

    Raises
    ------
    GradientCheckError
        When any entry is off, listing each failing array with its worst entry; or when the
        layer breaks the protocol (returns a wrongly shaped gradient, writes into ``x`` or
        ``G``, overwrites instead of accumulating parameter gradients).
    TypeError
        When ``x`` or a parameter is not float64.

    Notes
    -----
    With :math:`G` drawn from :math:`\mathcal N(0, 1)` and :math:`L = \sum_i f(x)_i G_i`, the
    analytic gradients are exactly ``layer.backward(G)`` (for :math:`x`) and the accumulated
    ``.grad`` (for the parameters). The layer is left with its original values and with the
    gradients of one backward pass accumulated into zeroed ``.grad`` arrays.
    """
    rng = as_rng(random_state)
    who = getattr(layer, "name", type(layer).__name__)
    _require_float64(f"check_gradients({who}) input x", x)
    named = named_parameters(layer)
    for pname, p in named:
        _require_float64(f"check_gradients({who}) parameter {pname}", p.value)
    hidden = sorted(k for k, v in getattr(layer, "__dict__", {}).items()
                    if isinstance(v, Parameter) and all(v is not p for _, p in named))
    if hidden:
        raise GradientCheckError(f"check_gradients({who}): parameters() does not return the "
                                 f"Parameter attribute(s) {hidden}; an optimizer would never "
                                 "update them")
    x = np.array(x, dtype=np.float64, order="C")  # our own contiguous copy, perturbed in place
    x_before = x.copy()

    y = layer.forward(x)
    G = rng.standard_normal(y.shape)
    G_before = G.copy()
    problems = []
    if not np.array_equal(x, x_before):
        problems.append("  forward() wrote into its input x")

    layer.zero_grad()
    layer.forward(x)
    dx = layer.backward(G)
    if not np.array_equal(G, G_before):
        problems.append("  backward() wrote into its upstream gradient G")
        G = G_before
    if not isinstance(dx, np.ndarray) or dx.shape != x.shape:
        got = dx.shape if isinstance(dx, np.ndarray) else type(dx).__name__
        raise GradientCheckError(f"check_gradients({who}): backward() must return dL/dx shaped "
                                 f"like x {x.shape}, got {got}")
    dx = np.array(dx, dtype=np.float64)
    grads = [p.grad.copy() for _, p in named]

    # Protocol: a second forward/backward without zero_grad must add the same gradients again.
    layer.forward(x)
    layer.backward(G)
    for (pname, p), g1 in zip(named, grads):
        if not np.allclose(p.grad, 2 * g1, rtol=1e-10, atol=1e-12):
            problems.append(f"  {pname}: .grad is not accumulated (+=); a second backward "
                            "without zero_grad() should double it")
    layer.zero_grad()
    layer.forward(x)
    layer.backward(G)  # leave one pass of gradients behind, as documented

    def loss():
        return float(np.sum(layer.forward(x) * G))

    errors = {}
    idx = _pick(x.size, max_entries, rng)
    errors["x"] = _compare("x", dx, x.shape, _numeric_grad(loss, x, eps, idx), idx,
                           rtol, atol, problems)
    for (pname, p), g in zip(named, grads):
        if not p.value.flags.c_contiguous:
            raise TypeError(f"check_gradients({who}): parameter {pname} must be C-contiguous")
        idx = _pick(p.value.size, max_entries, rng)
        errors[pname] = _compare(pname, g, p.value.shape,
                                 _numeric_grad(loss, p.value, eps, idx), idx, rtol, atol, problems)
    if problems:
        raise GradientCheckError(f"check_gradients({who}) failed (eps={eps}, rtol={rtol}, "
                                 f"atol={atol}):\n" + "\n".join(problems))
    return errors


def check_loss_gradients(loss, pred, target, *, eps=1e-6, rtol=1e-4, atol=1e-6):
    r"""Check a loss's ``backward()`` against central differences of ``loss(pred, target)``.

    Parameters
    ----------
    loss : object
        ``loss(pred, target) -> float`` and ``loss.backward() -> dL/dpred``.
    pred, target : ndarray, float64, same shape
        Keep ``pred`` inside the region where the loss is smooth (e.g. away from BCE's clip
        at 0 and 1).
    eps, rtol, atol : float
        As in :func:`check_gradients`.

    Returns
    -------
    dict
        ``{"pred": max |analytic - numeric|}``.

    Raises
    ------
    GradientCheckError
        When an entry is off, when ``backward`` returns the wrong shape, or when the loss writes
        into ``pred`` or ``target``.
    """
    who = type(loss).__name__
    _require_float64(f"check_loss_gradients({who}) pred", pred)
    _require_float64(f"check_loss_gradients({who}) target", target)
    pred = np.array(pred, dtype=np.float64, order="C")
    target = np.array(target, dtype=np.float64, order="C")
    pred_before, target_before = pred.copy(), target.copy()
    loss(pred, target)
    grad = loss.backward()
    problems = []
    if not (np.array_equal(pred, pred_before) and np.array_equal(target, target_before)):
        problems.append("  the loss wrote into pred or target")
    if not isinstance(grad, np.ndarray) or grad.shape != pred.shape:
        got = grad.shape if isinstance(grad, np.ndarray) else type(grad).__name__
        raise GradientCheckError(f"check_loss_gradients({who}): backward() must return dL/dpred "
                                 f"shaped like pred {pred.shape}, got {got}")
    grad = np.array(grad, dtype=np.float64)
    idx = np.arange(pred.size)
    numeric = _numeric_grad(lambda: float(loss(pred, target)), pred, eps, idx)
    errors = {"pred": _compare("pred", grad, pred.shape, numeric, idx, rtol, atol, problems)}
    if problems:
        raise GradientCheckError(f"check_loss_gradients({who}) failed (eps={eps}, rtol={rtol}, "
                                 f"atol={atol}):\n" + "\n".join(problems))
    return errors
