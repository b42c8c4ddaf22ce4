r"""Optimizers: SGD (with momentum and Nesterov), Adam and Adadelta, with Keras's update rules.

An optimizer takes a flat list of ``Parameter`` objects (``model.parameters()``) and keeps its
state in lists aligned with it by index (as early tinygrad does). ``step()`` updates every
``Parameter.value`` *in place* — never rebinding it — so model slices and the replicas of a
parallel training step, which share the value arrays, all see the update.

Each update rule is written twice: a plain NumPy reference (the textbook, ``_*_reference``) and
a fused Numba kernel (``_*_kernel``) that makes one pass over memory instead of about ten; the
tests hold the two equal. ``step()`` uses the kernels. They are compiled with
``error_model="numpy"``: Numba's default ("python") checks every division for a zero divisor,
which stops LLVM from vectorizing the loop (Adam on 3.3M float32 values: 2.8 ns per element
with the check, 0.4-0.7 without).
"""
import math

import numpy as np
from numba import njit

from .base import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "Adadelta"]


def _flat(a, what):
    """A 1-D *view* of ``a`` (a copy would silently drop the in-place update)."""
    if not a.flags.c_contiguous:
        raise ValueError(f"optimizer: {what} must be C-contiguous to be updated in place")
    return a.reshape(-1)


class Optimizer:
    """Base class: parameter list, step counter, ``zero_grad`` and the state-dict round trip.

    Subclasses set ``_slots`` (names of per-parameter state lists, e.g. ``("m", "v")``) and
    implement ``_update(i, p, g, *slots)`` on 1-D views.
    """

    _slots = ()

    def __init__(self, params):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{self.name}: params[{i}] must be a Parameter, "
                                f"got {type(p).__name__}")
        self.t = 0  # number of steps taken
        for slot in self._slots:
            setattr(self, slot, [np.zeros_like(p.value) for p in self.params])

    @property
    def name(self):
        return type(self).__name__

    def zero_grad(self):
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.grad.fill(0)

    def step(self):
        """Apply one update to every parameter from its accumulated ``.grad``."""
        self.t += 1
        self._begin_step()
        for i, p in enumerate(self.params):
            slots = [_flat(getattr(self, s)[i], f"{s}[{i}]") for s in self._slots]
            self._update(_flat(p.value, f"params[{i}].value"), _flat(p.grad, f"params[{i}].grad"),
                         *slots)

    def _begin_step(self):
        """Per-step scalars (e.g. Adam's bias-corrected learning rate)."""

    def get_config(self):
        """The hyperparameters (constructor keywords without ``params``) as JSON-able values."""
        raise NotImplementedError

    def state_dict(self):
        """``{"t": steps, <slot>: [array per parameter], ...}`` — copies, safe to keep.

        The keys and list lengths depend only on the optimizer's type, settings and parameters,
        so a fresh optimizer's ``state_dict()`` says what a saved one must hold.
        """
        state = {"t": self.t}
        for s in self._slots:
            state[s] = [a.copy() for a in getattr(self, s)]
        return state

    def load_state_dict(self, state):
        """Restore a ``state_dict()``; arrays are copied into the existing state (in place).

        Raises ``ValueError`` naming the expected and actual keys, lengths or shapes.
        """
        expected = {"t", *self._slots}
        if set(state) != expected:
            raise ValueError(f"{self.name}.load_state_dict: expected keys {sorted(expected)}, "
                             f"got {sorted(state)}")
        for s in self._slots:
            mine, theirs = getattr(self, s), state[s]
            if len(theirs) != len(mine):
                raise ValueError(f"{self.name}.load_state_dict: expected {len(mine)} '{s}' "
                                 f"arrays (one per parameter), got {len(theirs)}")
            for i, (a, b) in enumerate(zip(mine, theirs)):
                if np.shape(b) != a.shape:
                    raise ValueError(f"{self.name}.load_state_dict: '{s}'[{i}] expected shape "
                                     f"{a.shape}, got {np.shape(b)}")
        for s in self._slots:
            for a, b in zip(getattr(self, s), state[s]):
                np.copyto(a, b, casting="same_kind")
        self.t = int(state["t"])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}(<{len(self.params)} params>, {args})"


# --------------------------------------------------------------------------------------------
# Running averages that decay to nothing are set to 0 (flush to zero)
# --------------------------------------------------------------------------------------------
# A weight whose gradient is 0 step after step (a pixel that is black in every image, a dead
# ReLU unit) sees its momentum or Adam moment shrink by beta each step: m = 0.9^t m reaches
# float32's smallest normal number (1.2e-38) after a few hundred steps and then lives among the
# subnormal numbers, where every multiplication takes a slow path in the CPU (a microcode
# assist, about 100 cycles instead of a fraction of one). In the recipe's autoencoder that made
# every training step 1.4x slower from step ~700 on. So every optimizer below sets a running
# average that falls under the smallest normal number to 0, what the CPU's flush-to-zero mode
# would do; the update it leaves out is below 1e-38 relative to the others.

def _flush_reference(a):  # a: INOUT
    """Set the entries of ``a`` smaller in magnitude than its dtype's smallest normal to 0."""
    a[np.abs(a) < np.finfo(a.dtype).tiny] = 0


# --------------------------------------------------------------------------------------------
# SGD
# --------------------------------------------------------------------------------------------

def _sgd_reference(p, g, vel, lr, momentum, nesterov):  # p, vel: INOUT   g: IN
    """One SGD step in NumPy (Keras's rule; ``vel`` is ignored when momentum is 0)."""
    if momentum == 0:
        p -= lr * g
        return
    vel *= momentum
    vel -= lr * g
    _flush_reference(vel)
    if nesterov:
        p += momentum * vel - lr * g
    else:
        p += vel


@njit(cache=True, nogil=True, error_model="numpy")
def _sgd_kernel(p, g, vel, lr, momentum, nesterov):  # p, vel: INOUT   g: IN
    """Numba twin of ``_sgd_reference``: the same maths, one loop (float64 scalars)."""
    f = p.dtype.type
    eta, mu, tiny = f(lr), f(momentum), np.finfo(p.dtype).tiny
    if momentum == 0:
        for i in range(p.size):
            p[i] -= eta * g[i]
        return
    for i in range(p.size):
        u = mu * vel[i] - eta * g[i]
        vel[i] = u if abs(u) >= tiny else f(0.0)       # flush to zero (see above)
        if nesterov:
            p[i] += mu * vel[i] - eta * g[i]
        else:
            p[i] += vel[i]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum, as in Keras.

    Parameters
    ----------
    params : list of Parameter
    lr : float
        Learning rate :math:`\eta`.
    momentum : float, default 0
        :math:`\mu`.
    nesterov : bool, default False

    Notes
    -----
    With :math:`g` the gradient and the velocity :math:`v` starting at 0:

    .. math:: v \leftarrow \mu v - \eta g, \qquad
              \theta \leftarrow \theta + v \quad\text{or, Nesterov,}\quad
              \theta \leftarrow \theta + \mu v - \eta g

    and plain :math:`\theta \leftarrow \theta - \eta g` when :math:`\mu = 0`. (PyTorch keeps
    :math:`v' = -v/\eta`; the iterates are the same for a constant learning rate.)
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False):
        if lr <= 0 or not 0 <= momentum < 1:
            raise ValueError(f"SGD: expected lr > 0 and 0 <= momentum < 1, "
                             f"got lr={lr}, momentum={momentum}")
        self._slots = ("velocity",) if momentum else ()
        super().__init__(params)
        self.lr, self.momentum, self.nesterov = float(lr), float(momentum), bool(nesterov)

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def _update(self, p, g, vel=None):
        _sgd_kernel(p, g, p if vel is None else vel, self.lr, self.momentum, self.nesterov)


# --------------------------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------------------------

def _adam_reference(p, g, m, v, t, lr, beta_1, beta_2, epsilon):  # p, m, v: INOUT  g: IN
    r"""Step ``t`` (1, 2, ...) of Adam in NumPy, the whole update as the paper writes it:

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        \hat m = m / (1 - \beta_1^t), \quad \hat v = v / (1 - \beta_2^t), \\
        \theta \leftarrow \theta - \eta \, \hat m / (\sqrt{\hat v} + \hat\epsilon),
        \quad \hat\epsilon = \epsilon / \sqrt{1 - \beta_2^t}

    (the :math:`\hat\epsilon` makes it Keras's update exactly; the kernel below computes the
    same with the two corrections folded into one learning rate, ``Adam._begin_step``).
    """
    m *= beta_1
    m += (1 - beta_1) * g
    v *= beta_2
    v += (1 - beta_2) * g * g
    _flush_reference(m)
    _flush_reference(v)
    m_hat = m / (1 - beta_1 ** t)
    v_hat = v / (1 - beta_2 ** t)
    p -= lr * m_hat / (np.sqrt(v_hat) + epsilon / np.sqrt(1 - beta_2 ** t))


@njit(cache=True, nogil=True, error_model="numpy")
def _adam_kernel(p, g, m, v, lr_t, beta_1, beta_2, epsilon):  # p, m, v: INOUT   g: IN
    """Numba twin of ``_adam_reference``: one pass over p, g, m, v instead of about ten, with
    the bias corrections folded into ``lr_t`` = lr √(1 − β₂ᵗ) / (1 − β₁ᵗ):
    lr_t m / (√v + ε) is lr m̂ / (√v̂ + ε / √(1 − β₂ᵗ))."""
    # Scalars arrive as float64 and are rounded to p's dtype once; computing 1 - beta_2 from
    # a float32 beta_2 would be off by 1.3e-5 relative (float32(0.999) = 0.99900001).
    f = p.dtype.type
    b1, c1, b2, c2 = f(beta_1), f(1.0 - beta_1), f(beta_2), f(1.0 - beta_2)
    lr, eps, tiny = f(lr_t), f(epsilon), np.finfo(p.dtype).tiny
    for i in range(p.size):
        mi = b1 * m[i] + c1 * g[i]
        vi = b2 * v[i] + c2 * g[i] * g[i]
        m[i] = mi if abs(mi) >= tiny else f(0.0)       # flush to zero (see above)
        v[i] = vi if vi >= tiny else f(0.0)
        p[i] -= lr * m[i] / (np.sqrt(v[i]) + eps)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), in the form Keras implements it.

    Parameters
    ----------
    params : list of Parameter
    lr : float, default 1e-3
    beta_1, beta_2 : float, default 0.9, 0.999
    epsilon : float, default 1e-7
        Keras's default (PyTorch's is 1e-8, added after the bias correction of :math:`v`).

    Notes
    -----
    At step :math:`t = 1, 2, \dots`, with :math:`m, v` starting at 0:

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \eta_t &= \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) \\
        \theta &\leftarrow \theta - \eta_t \, m / (\sqrt{v} + \epsilon)

    Keras folds the bias corrections into the learning rate :math:`\eta_t` ("the
    formulation just before Section 2.1" of the paper), which is the paper's
    :math:`\eta \, \hat m / (\sqrt{\hat v} + \hat\epsilon)` with :math:`\hat m = m / (1 -
    \beta_1^t)`, :math:`\hat v = v / (1 - \beta_2^t)` and :math:`\hat\epsilon = \epsilon /
    \sqrt{1 - \beta_2^t}`; ``_adam_reference`` computes it in that form, the kernel folded.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
       arXiv:1412.6980.
    """

    _slots = ("m", "v")

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        if lr <= 0 or not (0 <= beta_1 < 1 and 0 <= beta_2 < 1) or epsilon < 0:
            raise ValueError(f"Adam: expected lr > 0, 0 <= beta_1, beta_2 < 1 and epsilon >= 0, "
                             f"got lr={lr}, beta_1={beta_1}, beta_2={beta_2}, epsilon={epsilon}")
        super().__init__(params)
        self.lr, self.beta_1, self.beta_2, self.epsilon = map(float, (lr, beta_1, beta_2, epsilon))

    def get_config(self):
        return {"lr": self.lr, "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}

    def _begin_step(self):
        self._lr_t = self.lr * math.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)

    def _update(self, p, g, m, v):
        _adam_kernel(p, g, m, v, self._lr_t, self.beta_1, self.beta_2, self.epsilon)


# --------------------------------------------------------------------------------------------
# Adadelta
# --------------------------------------------------------------------------------------------

def _adadelta_reference(p, g, acc_g, acc_d, lr, rho, epsilon):  # p, acc_*: INOUT  g: IN
    """One Adadelta step in NumPy."""
    acc_g *= rho
    acc_g += (1 - rho) * g * g
    _flush_reference(acc_g)
    delta = g * np.sqrt(acc_d + epsilon) / np.sqrt(acc_g + epsilon)
    acc_d *= rho
    acc_d += (1 - rho) * delta * delta
    _flush_reference(acc_d)
    p -= lr * delta


@njit(cache=True, nogil=True, error_model="numpy")
def _adadelta_kernel(p, g, acc_g, acc_d, lr, rho, epsilon):  # p, acc_*: INOUT  g: IN
    """Numba twin of ``_adadelta_reference`` (float64 scalars, rounded once as in Adam)."""
    f = p.dtype.type
    r, c, eps, eta, tiny = f(rho), f(1.0 - rho), f(epsilon), f(lr), np.finfo(p.dtype).tiny
    for i in range(p.size):
        a = r * acc_g[i] + c * g[i] * g[i]
        acc_g[i] = a if a >= tiny else f(0.0)          # flush to zero (see above)
        delta = g[i] * np.sqrt(acc_d[i] + eps) / np.sqrt(acc_g[i] + eps)
        a = r * acc_d[i] + c * delta * delta
        acc_d[i] = a if a >= tiny else f(0.0)
        p[i] -= eta * delta


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012), in the form Keras implements it.

    Parameters
    ----------
    params : list of Parameter
    lr : float, default 1.0
        Keras scales the step by a learning rate (the paper has none, i.e. 1.0).
    rho : float, default 0.95
    epsilon : float, default 1e-7

    Notes
    -----
    With the running averages :math:`E[g^2]` and :math:`E[\Delta^2]` starting at 0:

    .. math::
        E[g^2] &\leftarrow \rho E[g^2] + (1 - \rho) g^2 \\
        \Delta &= g \, \sqrt{E[\Delta^2] + \epsilon} \, / \sqrt{E[g^2] + \epsilon} \\
        E[\Delta^2] &\leftarrow \rho E[\Delta^2] + (1 - \rho) \Delta^2 \\
        \theta &\leftarrow \theta - \eta \Delta

    References
    ----------
    .. [1] M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701, 2012.
    """

    _slots = ("acc_grad", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.95, epsilon=1e-7):
        if lr <= 0 or not 0 <= rho < 1 or epsilon <= 0:
            raise ValueError(f"Adadelta: expected lr > 0, 0 <= rho < 1 and epsilon > 0, "
                             f"got lr={lr}, rho={rho}, epsilon={epsilon}")
        super().__init__(params)
        self.lr, self.rho, self.epsilon = float(lr), float(rho), float(epsilon)

    def get_config(self):
        return {"lr": self.lr, "rho": self.rho, "epsilon": self.epsilon}

    def _update(self, p, g, acc_g, acc_d):
        _adadelta_kernel(p, g, acc_g, acc_d, self.lr, self.rho, self.epsilon)
