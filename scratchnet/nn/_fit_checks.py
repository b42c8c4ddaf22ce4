r"""The checks ``Sequential.fit``, ``evaluate`` and ``predict`` run once, at the public entry.

Kept apart from :mod:`scratchnet.nn.model` so that the training loop reads without them: each
turns a user's argument into what the loop needs (a loss object, an int seed, a number of
epochs) or raises a ``ValueError``/``TypeError`` naming the function, what was expected and
what came. And the error ``fit`` raises when the loss stops being finite
(:class:`TrainingDivergedError`, built by :func:`diverged`).
"""
import math

import numpy as np

from ._args import positive_int
from .losses import BCELoss, KLDivLoss, MSELoss

LOSSES = {"mse": MSELoss, "mean_squared_error": MSELoss, "bce": BCELoss,
           "binary_crossentropy": BCELoss, "kld": KLDivLoss, "kl_divergence": KLDivLoss}


def check_data(where, name, X):
    """Public-entry validation: a float array (N, ...) with N >= 1 and only finite values."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{where}: expected {name} as a NumPy array, got {type(X).__name__}")
    if X.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point {name}, got dtype {X.dtype}")
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{where}: expected {name} of shape (N, ...) with N >= 1 samples, "
                         f"got {X.shape}")
    if not np.isfinite(X).all():
        bad = int(X.size - np.count_nonzero(np.isfinite(X)))
        raise ValueError(f"{where}: {name} must be finite, got {bad} NaN/inf value(s)")


def check_pair(where, X, Y, names=("X", "Y")):
    check_data(where, names[0], X)
    if Y is not X:
        check_data(where, names[1], Y)
    if len(X) != len(Y):
        raise ValueError(f"{where}: {names[0]} and {names[1]} must have the same number of "
                         f"samples, got {len(X)} and {len(Y)}")


def as_loss(where, loss):
    """A loss object from itself or from a Keras-style name ("mse", "binary_crossentropy")."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"{where}: unknown loss {loss!r}; expected one of {sorted(LOSSES)}")
        return LOSSES[loss]()
    return loss


def as_seed(random_state):
    """An int seed from None / int / Generator, so epoch e can shuffle with ``[seed, e]``."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2 ** 63))
    if isinstance(random_state, (int, np.integer)) and random_state >= 0:
        return int(random_state)
    raise ValueError(f"fit: random_state must be None, a non-negative int or a Generator, "
                     f"got {random_state!r}")


def check_length(epochs, steps, n_batches, initial_epoch=0):
    """The index of the last epoch + 1 that ``fit`` runs, from ``epochs`` or ``steps``."""
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
            or initial_epoch < 0:
        raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
    if epochs is not None:   # 0 or -1 would train nothing and return as if all went well
        positive_int("fit", "epochs", epochs)
    if steps is None:
        return 1 if epochs is None else int(epochs)
    if epochs is not None:
        raise ValueError(f"fit: give epochs or steps, not both (got epochs={epochs!r}, "
                         f"steps={steps!r})")
    return math.ceil(positive_int("fit", "steps", steps) / n_batches)


class TrainingDivergedError(ValueError):
    """The training loss became NaN or infinite: the learning rate is too large for the model.

    Once a step overflows, every later weight is NaN and nothing recovers, so ``fit`` stops at
    the first non-finite batch loss (before that batch's update and before any epoch-end
    checkpoint) instead of carrying NaN weights into the saved model and the clustering. A
    ``ValueError`` so that code catching bad settings catches it too.
    """


# Inputs whose largest magnitude exceeds this are the likely cause of a divergence: a network
# initialised for inputs of order 1 (pixels in [0, 1], z-scores) overflows float32 on them at
# any learning rate.
INPUT_SCALE_LIMIT = 1e4


def diverged(where, value, epoch, step, optimizer, batch=None):
    """The :class:`TrainingDivergedError` for a loss ``value`` at (1-based) ``epoch``/``step``;
    ``batch``, the inputs of that step, lets it name huge inputs as the cause instead of the
    learning rate."""
    at = f"epoch {epoch}, step {step}" if epoch is not None else f"step {step}"
    said = f"{where}: the loss became {value} at {at}: training diverged, so it stopped there " \
           f"without updating or saving the weights; "
    peak = float(np.nanmax(np.abs(batch))) if batch is not None and np.size(batch) else 0.0
    if peak > INPUT_SCALE_LIMIT:
        return TrainingDivergedError(
            said + f"its inputs reach {peak:.3g}, expected values of order 1: scale them first "
                   f"(pixels to [0, 1], features to z-scores); no learning rate can fix this")
    lr = getattr(optimizer, "lr", None)
    lr = f" (lr={lr:g})" if isinstance(lr, (int, float)) else ""
    return TrainingDivergedError(said + f"lower the learning rate{lr} and train again")
