r"""Learning-rate schedules, applied by a callback at the start of every epoch.

A schedule is any function ``epoch -> learning rate``. :class:`LearningRateScheduler` (named
after Keras's callback) writes it into ``optimizer.lr`` before each epoch. Because the rate
depends only on the epoch index, a run resumed at ``initial_epoch`` with the same callback gets
the same rates as one that was never interrupted.

:func:`cosine_decay` is SGDR's annealing without restarts (Loshchilov & Hutter, "SGDR:
Stochastic gradient descent with warm restarts", ICLR 2017):

.. math::

    \eta_e = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
             \left(1 + \cos\frac{\pi e}{E}\right), \qquad e = 0, \dots, E - 1,

large steps early to move far, small ones late to settle into a minimum.
"""
import math

from .callbacks import Callback

__all__ = ["LearningRateScheduler", "cosine_decay"]


def cosine_decay(lr, epochs, final_lr=0.0):
    """The schedule ``epoch -> lr`` falling from ``lr`` (epoch 0) towards ``final_lr`` along half
    a cosine over ``epochs`` epochs; later epochs stay at ``final_lr``.

    >>> schedule = cosine_decay(1e-3, 4)
    >>> [round(schedule(e), 6) for e in range(5)]
    [0.001, 0.000854, 0.0005, 0.000146, 0.0]
    """
    if not lr > 0 or not 0 <= final_lr <= lr:
        raise ValueError(f"cosine_decay: expected lr > 0 and 0 <= final_lr <= lr, got lr={lr}, "
                         f"final_lr={final_lr}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"cosine_decay: epochs must be a positive int, got {epochs!r}")

    def schedule(epoch):
        t = min(epoch, epochs) / epochs
        return final_lr + 0.5 * (lr - final_lr) * (1.0 + math.cos(math.pi * t))
    return schedule


class LearningRateScheduler(Callback):
    """Set ``optimizer.lr = schedule(epoch)`` at the start of every epoch.

    Parameters
    ----------
    schedule : callable
        ``epoch (0-based) -> learning rate`` (a finite float >= 0).
    """

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected a callable epoch -> lr, "
                            f"got {type(schedule).__name__}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch))
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}) must be a finite "
                             f"rate >= 0, got {lr}")
        self.optimizer.lr = lr
