r"""``Autoencoder``: an encoder and a decoder trained together to reproduce their input.

The encoder :math:`f` maps an image :math:`x` to a code :math:`z = f(x)`; the decoder
:math:`g` maps it back, :math:`\hat x = g(z)`. Training minimises a reconstruction loss
:math:`L(\hat x, x)` (binary cross-entropy for pixels in [0, 1], as the write-ups do, or mean
squared error). The code is what the clustering sees: K-means on :math:`z` instead of on the
pixels.

The class is a thin shell around one ``Sequential`` (``self.model``) whose layers *are* the
encoder's followed by the decoder's: training the whole updates both halves, and
``encoder``/``decoder`` stay usable on their own.
"""
import numpy as np

from ..nn import Sequential, load_checkpoint
from ..nn.base import parameters_dtype
from ..nn.losses import BCELoss, MSELoss
from ..nn.optim import SGD, Adadelta, Adam

LOSSES = {"bce": BCELoss, "mse": MSELoss}
OPTIMIZERS = {"adam": Adam, "adadelta": Adadelta, "sgd": SGD}


def _check_batch_size(where, batch_size):
    """A positive int, or ``ValueError``: 0 used to fall back silently to the default 64."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def masking_noise(rate):
    """``corrupt(xb, rng)`` for :meth:`Sequential.fit`: zero each value with probability
    ``rate`` (a fresh mask per batch; the caller's batch is not modified)."""
    def corrupt(xb, rng):
        return xb * (rng.random(xb.shape, dtype=np.float32) >= rate)
    return corrupt


class Autoencoder:
    r"""An encoder and a decoder with training defaults.

    Parameters
    ----------
    encoder, decoder : Sequential
    input_shape : tuple of int
        Per-sample input shape, e.g. ``(3, 32, 32)`` or ``(784,)``.
    loss : {"bce", "mse"}
        Reconstruction loss used by ``fit`` unless it is given another.
    optimizer : {"adam", "adadelta", "sgd"}
    optimizer_kwargs : dict
        Keyword arguments of the optimizer (e.g. ``{"lr": 1e-3}``).
    batch_size : int
        Default batch size of ``fit``.

    Attributes
    ----------
    model : Sequential
        Encoder layers followed by decoder layers (the same layer objects).
    optimizer_ : optimizer or None
        The optimizer of the last ``fit``; a later ``fit`` continues with its state.
    history_ : dict
        Per-epoch ``loss`` (and ``val_loss``) of every ``fit`` so far, concatenated.
    """

    def __init__(self, encoder, decoder, input_shape, loss="bce", optimizer="adam",
                 optimizer_kwargs=None, batch_size=64):
        if loss not in LOSSES:
            raise ValueError(f"Autoencoder: loss must be one of {sorted(LOSSES)}, got {loss!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"Autoencoder: optimizer must be one of {sorted(OPTIMIZERS)}, "
                             f"got {optimizer!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.input_shape = tuple(int(s) for s in input_shape)
        self.loss = loss
        self.optimizer = optimizer
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.batch_size = _check_batch_size("Autoencoder", batch_size)
        self.model = Sequential(list(encoder) + list(decoder))
        self.optimizer_ = None
        self.history_ = {"loss": [], "val_loss": []}

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, epochs=None, batch_size=None, validation_data=None, random_state=None,
            callbacks=(), verbose=True, initial_epoch=0, optimizer=None, noise=0.0,
            steps=None, augment=None, loss=None):
        """Train encoder and decoder to reconstruct ``X`` (target = input).

        Parameters
        ----------
        X : ndarray (N, *input_shape), float32 in [0, 1] for the BCE loss
        epochs : int, default 10
            Index of the last epoch, as in Keras (with ``initial_epoch`` for resuming); a
            positive int.
        batch_size : int, optional
            A positive int; ``None`` uses the ``batch_size`` given to the constructor.
        validation_data : ndarray or None
            Held-out images whose reconstruction loss is reported as ``val_loss``.
        optimizer : optimizer or None
            Defaults to a new one built from ``optimizer``/``optimizer_kwargs`` on the first
            call and to the previous one afterwards (so Adam's moments carry over). Given (e.g.
            ``Adam(ae.model.parameters(), lr=1e-3)``), it is used from now on.
        loss : {"bce", "mse"}, optional
            The reconstruction loss; defaults to the one given to the constructor. Given, it
            becomes the autoencoder's loss (saved with it): an example can state its loss
            where it trains, as a Keras ``compile`` would.
        noise : float in [0, 1)
            Masking noise: in every batch, each input value is set to 0 with this probability
            while the target stays the clean image (a denoising autoencoder, Vincent et al.
            2008, as in DEC's pretraining). Rebuilding what was hidden forces codes that
            capture how pixels go together rather than each pixel on its own; on Fashion-MNIST
            0.2 raised K-means' accuracy on the L2-normalised codes from 0.57 to 0.59.
        steps : int, optional
            Train for this many optimizer steps (batches) instead of ``epochs`` (giving both
            is an error): 5,000 images then get as much training as 70,000 do. The last epoch
            may be partial; see :meth:`Sequential.fit` for the rules, resuming included.
        augment : callable, optional
            A random variant of every batch, input and target alike (e.g.
            ``scratchnet.augment.RandomAffine(image_shape=(1, 28, 28))`` for a dense
            autoencoder of 28×28 images): the autoencoder learns to rebuild randomly shifted
            and turned images, and its codes become nearly the same for a shape wherever it
            sits in the frame (DEC-DA's pretraining). Applied before ``noise``.

        Returns
        -------
        history : History of this call (``history.history["loss"]`` etc.)

        Raises
        ------
        ValueError
            A bad shape, ``batch_size``, ``epochs``, ``steps`` or ``noise``; with the BCE loss,
            images outside [0, 1] (scale them, e.g. divide by 255).
        scratchnet.nn.TrainingDivergedError
            The loss became NaN or infinite (a ``ValueError``): lower the learning rate.
        """
        if loss is not None:
            if loss not in LOSSES:
                raise ValueError(f"Autoencoder.fit: expected loss in {sorted(LOSSES)}, got "
                                 f"{loss!r}")
            self.loss = loss
        self._check(X, "fit")
        batch_size = (self.batch_size if batch_size is None
                      else _check_batch_size("Autoencoder.fit", batch_size))
        if not 0 <= noise < 1:
            raise ValueError(f"Autoencoder.fit: expected 0 <= noise < 1, got {noise!r}")
        if optimizer is not None:
            self.optimizer_ = optimizer
        elif self.optimizer_ is None:
            self.optimizer_ = OPTIMIZERS[self.optimizer](self.model.parameters(),
                                                         **self.optimizer_kwargs)
        val = None
        if validation_data is not None:
            self._check(validation_data, "fit (validation_data)")
            val = (validation_data, validation_data)
        if epochs is None and steps is None:
            epochs = 10
        history = self.model.fit(
            X, X, loss=LOSSES[self.loss](), optimizer=self.optimizer_, epochs=epochs,
            steps=steps, batch_size=batch_size, validation_data=val,
            random_state=random_state, callbacks=callbacks, verbose=verbose,
            initial_epoch=initial_epoch, corrupt=masking_noise(noise) if noise else None,
            augment=augment)
        for key in ("loss", "val_loss"):
            self.history_[key].extend(history.history.get(key, []))
        return history

    # -- inference --------------------------------------------------------------------------
    def encode(self, X, batch_size=256):
        """Codes ``f(X)``, shape (N, *code_shape); ``features`` flattens them."""
        self._check(X, "encode")
        return self.encoder.predict(X, batch_size=batch_size)

    def features(self, X, batch_size=256):
        """Codes flattened to (N, D): what K-means clusters."""
        Z = self.encode(X, batch_size=batch_size)
        return Z.reshape(len(Z), -1)

    def decode(self, Z, batch_size=256):
        """Images ``g(Z)``; ``Z`` may be flat (N, D) when the code is an image (C, H, W)."""
        Z = np.asarray(Z, dtype=parameters_dtype(self.model.parameters()))
        code_shape = self.code_shape
        if Z.ndim == 2 and len(code_shape) > 1:
            if Z.shape[1] != int(np.prod(code_shape)):
                raise ValueError(f"Autoencoder.decode: expected codes (N, {code_shape}) or "
                                 f"(N, {int(np.prod(code_shape))}), got {Z.shape}")
            Z = Z.reshape((len(Z),) + tuple(code_shape))
        return self.decoder.predict(Z, batch_size=batch_size)

    def reconstruct(self, X, batch_size=256):
        """``g(f(X))``."""
        self._check(X, "reconstruct")
        return self.model.predict(X, batch_size=batch_size)

    @property
    def code_shape(self):
        """Per-sample shape of the code, e.g. (32, 4, 4)."""
        shape = self.input_shape
        for layer in self.encoder:
            shape = tuple(layer.output_shape(shape))
        return shape

    def summary(self, print_fn=print):
        """Keras-style table of the whole model (layer, output shape, parameters)."""
        return self.model.summary(self.input_shape, print_fn=print_fn)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path):
        """Model, optimizer state and training settings in one ``.npz`` (atomic write)."""
        meta = {"n_encoder_layers": len(self.encoder), "input_shape": list(self.input_shape),
                "loss": self.loss, "optimizer": self.optimizer,
                "optimizer_kwargs": self.optimizer_kwargs, "batch_size": self.batch_size,
                "history": self.history_}
        self.model.save(path, optimizer=self.optimizer_, state={"autoencoder": meta})

    @classmethod
    def load(cls, path):
        """Rebuild an ``Autoencoder`` saved with :meth:`save` (optimizer state included)."""
        model, optimizer, state = load_checkpoint(path)
        meta = state.get("autoencoder")
        if not isinstance(meta, dict):
            raise ValueError(f"Autoencoder.load: {path} holds a model but no autoencoder "
                             "metadata (expected a file written by Autoencoder.save)")
        layers = list(model)
        try:
            k = int(meta["n_encoder_layers"])
            if not 0 <= k <= len(layers):
                raise ValueError(f"n_encoder_layers={k} for {len(layers)} layers")
            ae = cls(Sequential(layers[:k]), Sequential(layers[k:]), meta["input_shape"],
                     loss=meta["loss"], optimizer=meta["optimizer"],
                     optimizer_kwargs=meta["optimizer_kwargs"], batch_size=meta["batch_size"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"Autoencoder.load: the autoencoder metadata in {path} is corrupt "
                             f"({type(e).__name__}: {e}); expected a file written by "
                             "Autoencoder.save") from e
        ae.model = model
        ae.optimizer_ = optimizer
        ae.history_ = meta.get("history", ae.history_)
        return ae

    # -- helpers ----------------------------------------------------------------------------
    def _check(self, X, where):
        if not isinstance(X, np.ndarray):
            raise TypeError(f"Autoencoder.{where}: expected an ndarray, got {type(X).__name__}")
        if X.shape[1:] != self.input_shape:
            raise ValueError(f"Autoencoder.{where}: expected input (N, "
                             f"{', '.join(map(str, self.input_shape))}), got {X.shape}")

    def __repr__(self):
        return (f"Autoencoder(input_shape={self.input_shape}, code_shape={self.code_shape}, "
                f"loss={self.loss!r}, optimizer={self.optimizer!r})")


# ---- images as an autoencoder takes them ---------------------------------------------------

def model_input(ae, X):
    """Images (N, C, H, W) as ``ae`` takes them: flat rows for a dense autoencoder."""
    return X.reshape(len(X), -1) if len(ae.input_shape) == 1 else X


def decoded_images(decoded, image_shape):
    """Decoder output as images (N, *image_shape) in [0, 1]: a dense decoder's is flat and,
    its output layer being linear, may leave the pixel range."""
    return np.clip(decoded, 0, 1).reshape((-1,) + tuple(image_shape))


def split_validation(X, random_state=0, fraction=0.1):
    """A random ``fraction`` of ``X`` held out for validation: ``(X_train, X_val)``.

    At least one image goes to each side (so ``len(X) >= 2`` is needed).
    """
    if len(X) < 2:
        raise ValueError(f"split_validation: expected at least 2 images, got {len(X)}")
    order = np.random.default_rng(random_state).permutation(len(X))
    n_val = min(len(X) - 1, max(1, int(len(X) * fraction)))
    return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])]
