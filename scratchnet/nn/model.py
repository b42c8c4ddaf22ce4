r"""``Sequential``: a stack of layers with ``fit``, ``predict``, ``summary`` and ``save``.

Training is the textbook loop — for every batch: zero the gradients, forward, loss, backward,
optimizer step (the five lines of ``Sequential.train_step``) — wrapped in epochs that shuffle,
report and call callbacks. On a machine with several cores a large enough batch is split across
them instead (``Sequential._split_across_cores``, :mod:`scratchnet.nn._parallel`): the same step,
made faster. Everything a run needs to continue after an interruption (weights, optimizer state,
next epoch, shuffling seed, history) goes into one ``.npz`` file; see
:class:`~scratchnet.nn.callbacks.ModelCheckpoint` and :mod:`scratchnet.nn.checkpoint`.

Example
-------
>>> import numpy as np
>>> from scratchnet.nn import Adam, Dense, MSELoss, ReLU, Sequential
>>> X = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
>>> ae = Sequential([Dense(8, 3, random_state=0), ReLU(), Dense(3, 8, random_state=1)])
>>> hist = ae.fit(X, X, loss=MSELoss(), optimizer=Adam(ae.parameters(), lr=1e-2), epochs=3,
...               random_state=0, verbose=False)
>>> len(hist.history["loss"]), ae[:2].predict(X).shape    # ae[:2] is the encoder
(3, (64, 3))
"""
import math

import numpy as np
from tqdm.auto import tqdm

from ._fit_checks import (TrainingDivergedError, as_loss, as_seed, check_data, check_length,
                          check_pair, diverged)
from ._parallel import ParallelStep
from .base import Layer, Parameter, backward_through, parameters_dtype
from .callbacks import Callback, History
from .saving import save_model

__all__ = ["Sequential", "TrainingDivergedError"]


class Sequential:
    r"""Layers applied one after the other: :math:`f = f_L \circ \dots \circ f_1`.

    Parameters
    ----------
    layers : list of Layer

    Notes
    -----
    ``backward`` runs the layers in reverse, each turning :math:`\partial L / \partial y_l` into
    :math:`\partial L / \partial y_{l-1}` (the chain rule). ``model[a:b]`` is a ``Sequential``
    of the *same* layer objects: training the autoencoder trains its encoder ``model[:k]``.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layers[{i}] must be a Layer, "
                                f"got {type(layer).__name__}")

    # ---- the layer protocol, lifted to the whole stack -------------------------------------
    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad, input_grad=True):
        """Backpropagate ``grad`` (dL/d output) through every layer, accumulating parameter
        gradients; returns dL/d input, or ``None`` with ``input_grad=False``, which lets the
        first layer skip that product (training never needs it)."""
        return backward_through(self.layers, grad, input_grad)

    def parameters(self):
        """All layers' parameters, a flat list in layer order."""
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self):
        """``[("<layer index>.<attribute>", Parameter), ...]``, e.g. ``("0.W", ...)``."""
        out = []
        for i, layer in enumerate(self.layers):
            attrs = getattr(layer, "__dict__", {}).items()
            attr_of = {id(v): k for k, v in attrs if isinstance(v, Parameter)}
            out += [(f"{i}.{attr_of.get(id(p), f'param{j}')}", p)
                    for j, p in enumerate(layer.parameters())]
        return out

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def astype(self, dtype):
        """Cast every layer's parameters to ``dtype`` (in place); returns ``self``."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    @property
    def dtype(self):
        """The parameters' dtype (float32 unless cast), used to cast input batches; ``None``
        for a model without parameters (its batches are kept as they come)."""
        return parameters_dtype(self.parameters(), default=None)

    def _cast(self, batch):
        """A batch in the model's dtype (no copy when it already is; kept as is without
        parameters)."""
        dtype = self.dtype
        return batch if dtype is None else batch.astype(dtype, copy=False)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n])"

    def get_config(self):
        return {"layers": [{"class": layer.name, "config": layer.get_config()}
                           for layer in self.layers]}

    # ---- inference and description --------------------------------------------------------
    def predict(self, X, batch_size=256):
        """Forward ``X`` in batches; returns a fresh array (N, ...) in the model's dtype.

        ``X`` is cast batch by batch to the model's dtype.
        """
        check_data("predict", "X", X)
        out = None
        for start in range(0, len(X), batch_size):
            yb = self.forward(self._cast(X[start:start + batch_size]))
            if out is None:
                out = np.empty((len(X),) + yb.shape[1:], dtype=yb.dtype)
            out[start:start + len(yb)] = yb
        return out

    def summary(self, input_shape, print_fn=print):
        """Print (and return) a Keras-style table: layer, output shape, parameter count.

        ``input_shape`` is the per-sample shape, e.g. ``(3, 32, 32)`` or ``(784,)``.
        """
        rows, shape, total = [], tuple(input_shape), 0
        for i, layer in enumerate(self.layers):
            shape = tuple(layer.output_shape(shape))
            count = sum(p.size for p in layer.parameters())
            total += count
            rows.append((f"{i} {layer.name}", str((None,) + shape), f"{count:,}"))
        rule = "_" * 65
        lines = [rule, f"{'Layer (type)':<28}{'Output Shape':<26}{'Param #':>11}", "=" * 65]
        lines += [f"{a:<28}{b:<26}{c:>11}" for a, b, c in rows]
        lines += ["=" * 65, f"Total params: {total:,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # ---- training --------------------------------------------------------------------------
    def fit(self, X, Y, *, loss, optimizer, epochs=None, batch_size=32, validation_data=None,
            shuffle=True, random_state=None, callbacks=(), verbose=True, initial_epoch=0,
            history=None, corrupt=None, steps=None, augment=None):
        r"""Train with mini-batch gradient descent; returns the :class:`History`.

        Parameters
        ----------
        X, Y : ndarray (N, ...)
            Inputs and targets (``Y`` is ``X`` for an autoencoder); cast batch by batch to the
            model's dtype.
        loss : Loss or str
            A loss object, or ``"mse"``, ``"binary_crossentropy"`` / ``"bce"``, ``"kld"``.
        optimizer : Optimizer
            Built on (some of) ``self.parameters()``.
        epochs : int, default 1
            Index of the last epoch + 1 (as in Keras: with ``initial_epoch=k`` the call runs
            epochs k, ..., epochs-1). Not together with ``steps``.
        batch_size : int
            The last batch of an epoch may be smaller.
        validation_data : (X_val, Y_val), optional
            Evaluated after each epoch into ``val_loss``.
        shuffle : bool
            Epoch ``e`` visits the samples in ``default_rng([seed, e]).permutation(N)``: the
            order depends only on the seed and the epoch, so a resumed run (``initial_epoch``)
            sees exactly the batches an uninterrupted one would.
        random_state : None, int or Generator
            Gives the seed above (stored by :class:`ModelCheckpoint` for resuming).
        callbacks : sequence
            Objects with optional ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``
            and ``on_train_end(logs)``;
            :class:`Callback` subclasses also get ``model``, ``optimizer``, ``history`` and
            ``seed`` attributes set before training.
        verbose : bool
            A tqdm bar per epoch showing the running loss.
        initial_epoch : int
            Epoch to start at (when resuming).
        history : History, optional
            Append to this history (e.g. the one a checkpoint restored) instead of a new one.
        corrupt : callable, optional
            ``corrupt(xb, rng) -> xb'`` is applied to every input batch, never to the target:
            with ``Y = X`` this trains a *denoising* autoencoder. ``rng`` is
            ``default_rng([seed, epoch, 1])``, so a resumed run draws the same noise.
        augment : callable, optional
            ``augment(xb, rng) -> xb'`` draws a random variant of every input batch (e.g.
            :class:`scratchnet.augment.RandomAffine`, a random shift and rotation of each
            image), before ``corrupt``. When ``Y`` is ``X`` (an autoencoder) the target is the
            augmented batch too: the model learns to rebuild the moved image, so its codes
            describe the shape wherever it sits. ``rng`` is ``default_rng([seed, epoch, 2])``.
        steps : int, optional
            Train for this many optimizer steps (batches) instead of a number of epochs: the
            training size no longer depends on the number of samples. Epochs run as usual
            (same shuffling, callbacks and history); the last one stops after the batch that
            reaches ``steps`` and may be partial (its ``loss`` is the mean over the batches it
            ran). Like ``epochs`` it counts the whole run from epoch 0, every epoch before
            ``initial_epoch`` taken as complete: a run resumed from an epoch checkpoint with
            the same ``steps`` ends exactly where the uninterrupted run ends. Giving both
            ``epochs`` and ``steps`` is an error.

        Returns
        -------
        History
            ``history.history["loss"]`` (mean training loss per epoch, weighted by batch size),
            ``["val_loss"]`` when validating, and ``history.epoch``.

        Raises
        ------
        ValueError
            Bad data, batch size, ``epochs`` or ``steps``, or both ``epochs`` and ``steps``
            given.
        TrainingDivergedError
            A batch loss was NaN or infinite (a ``ValueError``), naming the epoch, the step and
            the learning rate. The update of that batch is skipped and no callback runs for the
            epoch, so a :class:`ModelCheckpoint` keeps the last good epoch.

        Notes
        -----
        With :math:`N` samples and batch size :math:`B` an epoch is :math:`\lceil N/B \rceil`
        steps, so ``steps = epochs * ceil(N / B)`` is the same computation, bit for bit, as
        ``epochs``. A checkpoint written after a partial last epoch records that epoch as
        done: continuing such a run with a larger ``steps`` starts a new epoch instead of
        finishing the partial one, so it is not the same as one longer run (continuing from a
        checkpoint of any complete epoch is).
        """
        check_pair("fit", X, Y)
        if validation_data is not None:
            check_pair("fit", *validation_data, names=("validation X", "validation Y"))
        loss = as_loss("fit", loss)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}")
        n_batches = math.ceil(len(X) / batch_size)
        epochs = check_length(epochs, steps, n_batches, initial_epoch)
        for name, hook in (("corrupt", corrupt), ("augment", augment)):
            if hook is not None and not callable(hook):
                raise TypeError(f"fit: expected {name} as a callable (batch, rng) -> batch, "
                                f"got {type(hook).__name__}")
        seed = as_seed(random_state)
        history = History() if history is None else history
        for cb in callbacks:
            if isinstance(cb, Callback):
                cb.model, cb.optimizer, cb.history, cb.seed = self, optimizer, history, seed

        n = len(X)
        for epoch in range(initial_epoch, epochs):
            # with ``steps`` the last epoch may stop before its end
            batches = n_batches if steps is None else min(n_batches, steps - epoch * n_batches)
            order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else None
            noise_rng = np.random.default_rng([seed, epoch, 1]) if corrupt is not None else None
            augment_rng = np.random.default_rng([seed, epoch, 2]) if augment is not None else None
            for cb in callbacks:
                if hasattr(cb, "on_epoch_begin"):
                    cb.on_epoch_begin(epoch, {})
            desc = f"Epoch {epoch + 1}/{epochs}"
            if steps is not None:
                desc += f", steps {epoch * n_batches + 1}-{epoch * n_batches + batches}/{steps}"
            total, seen = 0.0, 0
            with tqdm(total=batches, desc=desc, disable=not verbose, leave=True) as bar:
                for b in range(batches):
                    idx = slice(b * batch_size, (b + 1) * batch_size)
                    if order is not None:
                        idx = order[idx]
                    xb, yb = self._cast(X[idx]), self._cast(Y[idx])
                    if augment is not None:
                        xb = self._cast(augment(xb, augment_rng))
                        yb = xb if Y is X else yb
                    if corrupt is not None:
                        xb = self._cast(corrupt(xb, noise_rng))
                    value = self.train_step(xb, yb, loss, optimizer)
                    if not math.isfinite(value):  # one scalar per batch: a free check
                        raise diverged("fit", value, epoch + 1, epoch * n_batches + b + 1,
                                       optimizer, batch=xb)
                    total += value * len(xb)
                    seen += len(xb)
                    bar.update()
                    bar.set_postfix(loss=f"{total / seen:.4g}", refresh=False)
                logs = {"loss": total / seen}
                if validation_data is not None:
                    logs["val_loss"] = self.evaluate(*validation_data, loss=loss,
                                                     batch_size=max(batch_size, 256))
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()})
            history.append(epoch, logs)
            for cb in callbacks:
                if hasattr(cb, "on_epoch_end"):
                    cb.on_epoch_end(epoch, logs)
        for cb in callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(dict(history.last()))
        return history

    def train_step(self, xb, yb, loss, optimizer):
        """One step on one batch: zero_grad, forward, loss, backward, optimizer step.

        What ``fit`` does for every batch, public for training loops of their own (DEC's and
        IDEC's step is this one, with the KL loss and the target :math:`P` as ``yb``).
        Returns the batch's loss. A NaN or infinite loss skips the optimizer step, so it never
        reaches the weights (``fit`` then raises :class:`TrainingDivergedError`).
        """
        if self._split_across_cores(len(xb)):
            return self._parallel_step.step(xb, yb, loss, optimizer)   # same step, every core
        self.zero_grad()
        value = loss(self.forward(xb), yb)
        self.backward(loss.backward(), input_grad=False)   # nothing needs dL/d(input)
        if math.isfinite(value):
            optimizer.step()
        return value

    def _split_across_cores(self, batch_size):
        """Whether to run the step on every core instead: more than one core, a batch of at
        least ``2 * 16`` samples (smaller slices are not worth a thread), and a layer whose work
        does not already use every core. The first call builds the
        :class:`~scratchnet.nn._parallel.ParallelStep` it would use (kept for later steps).

        :class:`~scratchnet.nn._parallel.ParallelStep` gives each thread a slice of the batch
        and a replica of the layers that shares their weights, then sums the gradients before
        the one optimizer step: the same loss and gradients as the five lines above, up to
        float rounding. It splits the batch rather than each kernel because on 2 cores a
        fork/join per kernel call (dozens per step) lost to it by 35-45%; see its module.

        A model whose weighted layers are all Dense is left to BLAS, which spreads each matrix
        product over the cores by itself: the dense 784-500-500-2000-10 autoencoder took
        32.9 ms per batch of 256 that way against 36.5 ms split (AMD EPYC, 2 cores), while the
        MNIST conv autoencoder, whose Numba kernels run on one thread, took 25.6 ms split
        against 46.9 ms not.
        """
        if getattr(self, "_parallel_step", None) is None:
            self._parallel_step = ParallelStep(self)
        weighted = [layer for layer in self.layers if layer.parameters()]
        if weighted and all(layer.threads_inside for layer in weighted):
            return False
        return self._parallel_step.threads_for(batch_size) > 1

    def evaluate(self, X, Y, *, loss, batch_size=256):
        """Mean loss over ``(X, Y)`` in batches (weighted by batch size), without training."""
        check_pair("evaluate", X, Y)
        loss = as_loss("evaluate", loss)
        total = 0.0
        for start in range(0, len(X), batch_size):
            stop = start + batch_size
            xb, yb = self._cast(X[start:stop]), self._cast(Y[start:stop])
            total += loss(self.forward(xb), yb) * len(xb)
        return total / len(X)

    # ---- persistence -----------------------------------------------------------------------
    def save(self, path, optimizer=None, state=None):
        """Write architecture, weights (and optionally optimizer and ``state``) to one ``.npz``.

        The file is written to a temporary file in the same folder and renamed over ``path``,
        so ``path`` always holds either the old or the new complete file. Read it back with
        :func:`scratchnet.nn.load_model` or :func:`scratchnet.nn.load_checkpoint`.
        """
        save_model(self, path, optimizer=optimizer, state=state)

