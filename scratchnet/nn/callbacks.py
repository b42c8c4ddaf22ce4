r"""What ``Sequential.fit`` records and whom it tells: History, Callback, ModelCheckpoint.

``fit`` appends each epoch's logs (``{"loss": ..., "val_loss": ...}``) to a :class:`History`
and calls every callback at three moments::

    for epoch in range(initial_epoch, epochs):
        on_epoch_begin(epoch, {})
        ...the epoch's training steps...
        on_epoch_end(epoch, logs)
    on_train_end(last logs)

A callback may be any object with some of those methods; a :class:`Callback` subclass also gets
``model``, ``optimizer``, ``history`` and ``seed`` set before training, which is all
:class:`ModelCheckpoint` needs to write a file from which the run continues exactly.

Example
-------
>>> class PrintLoss(Callback):
...     def on_epoch_end(self, epoch, logs):
...         print(epoch, round(logs["loss"], 3))
"""
from .saving import save_model

__all__ = ["History", "Callback", "ModelCheckpoint"]


class History:
    """Per-epoch logs, as Keras's: ``history["loss"]``, ``history["val_loss"]``, ``epoch``."""

    def __init__(self, history=None, epoch=None):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = list(epoch or [])

    def append(self, epoch, logs):
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def last(self):
        """The most recent epoch's logs."""
        return {k: v[-1] for k, v in self.history.items() if v}

    def to_dict(self):
        return {"history": self.history, "epoch": self.epoch}

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("history"), d.get("epoch"))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class Callback:
    """Base class for callbacks. ``fit`` sets ``model``, ``optimizer``, ``history`` and ``seed``
    before training, then calls ``on_epoch_begin(epoch, logs)`` before each epoch,
    ``on_epoch_end(epoch, logs)`` after it and ``on_train_end(logs)`` at the end (duck-typed
    callbacks need only the methods)."""

    model = optimizer = history = seed = None

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class ModelCheckpoint(Callback):
    """After every epoch, save model, optimizer, next epoch, seed and history to ``path``.

    The write is atomic (see :mod:`scratchnet.nn.saving`); restore with
    :func:`scratchnet.nn.load_checkpoint`.

    Parameters
    ----------
    path : str or PathLike
    save_optimizer : bool, default True
        Without it the file is a plain model (``load_model``), but training cannot resume
        exactly.
    """

    def __init__(self, path, save_optimizer=True):
        self.path = path
        self.save_optimizer = save_optimizer

    def on_epoch_end(self, epoch, logs):
        state = {"epoch": int(epoch) + 1, "seed": self.seed,
                 "history": self.history.to_dict() if self.history is not None else None}
        save_model(self.model, self.path, state=state,
                   optimizer=self.optimizer if self.save_optimizer else None)
