"""Training input and bookkeeping for the autoencoder, backend-agnostic Keras 3."""

from __future__ import annotations

import copy
import math

import keras
import numpy as np

from latentspace.distribution import model_input, replicas
from latentspace.model import ArchitectureConfig, build_autoencoder


def to_model_input(x: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1]; anything else (latent vectors) -> float32 as it is."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return np.asarray(x, dtype=np.float32)


class UInt8Batches(keras.utils.PyDataset):
    """Batches ``(x, x)`` of float32 images in [0, 1] cut from a uint8 image array.

    Only one batch is ever converted to float32, so the whole training set stays in its
    uint8 file (memory-mapped), a quarter of the size of a float32 copy.

    Parameters
    ----------
    images : ndarray of shape (n_images, S, S, 3), uint8
    indices : ndarray of shape (n_used,)
        Rows of ``images`` to serve.
    batch_size : int
    seed : int or None
        If given, epoch ``e`` serves ``indices`` in the order
        ``np.random.default_rng([seed, e]).permutation(indices)``: a function of the seed and
        the epoch alone, however often Keras peeks at batches or ends epochs (its TensorFlow
        data path with and without a distribution strategy differs there).
    threads : int
        Threads that prepare upcoming batches while the model trains on the current one.
        With 1, Keras fetches each batch between steps and a 2-core CPU trains about a third
        slower than from an in-memory float32 array; with 2 it keeps pace. Batch contents and
        order do not depend on the thread count.
    """

    def __init__(self, images, indices, batch_size: int, *, seed: int | None = None, threads: int = 1):
        super().__init__(workers=threads, use_multiprocessing=False)
        self.images, self.batch_size, self.seed = images, batch_size, seed
        self.indices = np.asarray(indices)
        self.epoch = -1
        self.order = self.indices

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, i: int):
        # Sorted rows read a memory map sequentially; the batch's order doesn't matter to the loss.
        rows = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = to_model_input(self.images[rows])  # (batch, S, S, 3)
        return x, x

    def on_epoch_begin(self):
        self._set_epoch(self.epoch + 1)

    def at_epoch(self, epoch: int) -> "UInt8Batches":
        """A copy serving epoch ``epoch``'s batches; this one is left as it is."""
        view = copy.copy(self)
        view._set_epoch(epoch)
        return view

    def _set_epoch(self, epoch: int):
        self.epoch = epoch
        if self.seed is not None:
            self.order = np.random.default_rng([self.seed, epoch]).permutation(self.indices)


class LiveLogger(keras.callbacks.Callback):
    """Log every epoch's losses to a ``dvclive.Live``.

    dvclive ships ``dvclive.keras.DVCLiveCallback``, but it imports TensorFlow; this one
    is pure Keras 3 so training also runs under the JAX and PyTorch backends.
    """

    def __init__(self, live, names: dict[str, str]):
        super().__init__()
        self.live, self.names = live, names

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key in self.names:
                self.live.log_metric(self.names[key], float(value))
        self.live.next_step()


def compile_autoencoder(model: keras.Model, *, optimizer: str, learning_rate: float, loss: str,
                        steps_per_execution: int = 1) -> None:
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=opt, loss=loss, steps_per_execution=steps_per_execution)


def train_autoencoder(cfg: ArchitectureConfig, images, train_idx, val_idx, *, seed: int, epochs: int,
                      batch_size: int, optimizer: str, learning_rate: float, loss: str, loader_threads: int = 1,
                      steps_per_execution: int = 1, callbacks=(), verbose=0):
    """Build, compile and fit the autoencoder on ``images[train_idx]``, scoring ``images[val_idx]``.

    Run it inside :func:`latentspace.distribution.distributed` to train on several devices,
    after :func:`latentspace.distribution.set_precision` for mixed precision.

    Parameters
    ----------
    images : ndarray of shape (n_images, S, S, 3), uint8
        Usually a memory map.
    train_idx, val_idx : ndarray of shape (n_train,), (n_val,)
    seed : int
        Seeds the initial weights, dropout and the order of the batches.

    Returns
    -------
    model : keras.Model
    history : dict of str to list of float, e.g. ``history["val_loss"][epoch]``
    """
    keras.utils.set_random_seed(seed)
    model = build_autoencoder(cfg)
    compile_autoencoder(model, optimizer=optimizer, learning_rate=learning_rate, loss=loss,
                        steps_per_execution=steps_per_execution)
    train_batches = UInt8Batches(images, train_idx, batch_size, seed=seed, threads=loader_threads)
    val_batches = UInt8Batches(images, val_idx, batch_size, threads=loader_threads)
    # shuffle=False: the batches are already in their seeded order; Keras would otherwise also
    # permute a PyDataset's batches with Python's global `random`, and only on some input paths.
    history = model.fit(model_input(model, train_batches, repeat=True), steps_per_epoch=len(train_batches),
                        validation_data=model_input(model, val_batches, repeat=True),
                        validation_steps=len(val_batches), epochs=epochs, shuffle=False, verbose=verbose,
                        callbacks=list(callbacks))
    return model, history.history


class RowBatches(keras.utils.PyDataset):
    """Batches ``(to_model_input(inputs[rows[k:k+batch_size]]),)`` in row order, for ``model.predict``.

    For a model trained with TensorFlow's MirroredStrategy, whose ``predict_on_batch`` would
    give every replica the whole batch: ``predict`` splits each batch between the replicas.
    """

    def __init__(self, inputs, rows, batch_size: int, *, threads: int = 1):
        super().__init__(workers=threads, use_multiprocessing=False)
        self.inputs, self.rows, self.batch_size = inputs, np.asarray(rows), batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, i: int):
        return (to_model_input(self.inputs[self.rows[i * self.batch_size : (i + 1) * self.batch_size]]),)


class _Progress(keras.callbacks.Callback):
    def __init__(self, progress, batches: RowBatches):
        super().__init__()
        self.progress, self.batches = progress, batches

    def on_predict_batch_end(self, batch, logs=None):
        b = self.batches
        self.progress(len(b.rows[batch * b.batch_size : (batch + 1) * b.batch_size]))


def predict_in_batches(model: keras.Model, inputs, batch_size: int, *, rows=None, progress=None,
                       threads: int = 2) -> np.ndarray:
    """Run ``model`` on ``inputs[rows]`` one batch at a time (see :func:`to_model_input`).

    Parameters
    ----------
    inputs : ndarray of shape (n, ...)
        uint8 images (e.g. a memory map) or float latent vectors.
    rows : ndarray of shape (n_used,) or None
        Rows to run on; all rows if None.
    progress : callable or None
        Called with the number of rows done after each batch (e.g. ``tqdm.update``).
    threads : int
        Threads preparing upcoming batches for a model on several devices (speed only).

    Returns
    -------
    out : ndarray of shape (n_used, ...) float32, row k = model(inputs[rows[k]])
    """
    rows = np.arange(len(inputs)) if rows is None else np.asarray(rows)
    if not len(rows):
        return np.zeros((0,), np.float32)
    if replicas(model) > 1:
        batches = RowBatches(inputs, rows, batch_size, threads=threads)
        callbacks = [_Progress(progress, batches)] if progress is not None else []
        return np.asarray(model.predict(model_input(model, batches), verbose=0, callbacks=callbacks),
                          dtype=np.float32)
    # One model: a plain loop is about a fifth faster than `predict` on a PyDataset.
    outputs = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        outputs.append(np.asarray(model.predict_on_batch(to_model_input(inputs[batch])), dtype=np.float32))
        if progress is not None:
            progress(len(batch))
    return np.concatenate(outputs)


def psnr(originals: np.ndarray, reconstructions: np.ndarray) -> float:
    """Mean peak signal-to-noise ratio in dB of images in [0, 1].

    Parameters
    ----------
    originals, reconstructions : ndarray of shape (n, S, S, 3)
    """
    a = np.asarray(originals, dtype=np.float64)
    b = np.asarray(reconstructions, dtype=np.float64)
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-12))))
