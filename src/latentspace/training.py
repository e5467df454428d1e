"""Training input and bookkeeping for the autoencoder, backend-agnostic Keras 3."""

from __future__ import annotations

import math

import keras
import numpy as np


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
    rng : numpy Generator or None
        If given, the order of ``indices`` is reshuffled from it before every epoch.
    threads : int
        Threads that prepare upcoming batches while the model trains on the current one.
        With 1, Keras fetches each batch between steps and a 2-core CPU trains about a third
        slower than from an in-memory float32 array; with 2 it keeps pace. Batch contents and
        order depend only on ``rng``, not on the thread count.
    """

    def __init__(self, images, indices, batch_size: int, *, rng: np.random.Generator | None = None,
                 threads: int = 1):
        super().__init__(workers=threads, use_multiprocessing=False)
        self.images, self.batch_size, self.rng = images, batch_size, rng
        self.indices = np.asarray(indices)
        self.order = self.indices.copy()
        if rng is not None:
            self.order = rng.permutation(self.indices)

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, i: int):
        # Sorted rows read a memory map sequentially; the batch's order doesn't matter to the loss.
        rows = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = to_model_input(self.images[rows])  # (batch, S, S, 3)
        return x, x

    def on_epoch_end(self):
        if self.rng is not None:
            self.order = self.rng.permutation(self.indices)


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


def compile_autoencoder(model: keras.Model, *, optimizer: str, learning_rate: float, loss: str) -> None:
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=opt, loss=loss)


def predict_in_batches(model: keras.Model, inputs, batch_size: int, *, rows=None, progress=None) -> np.ndarray:
    """Run ``model`` on ``inputs[rows]`` one batch at a time (see :func:`to_model_input`).

    Parameters
    ----------
    inputs : ndarray of shape (n, ...)
        uint8 images (e.g. a memory map) or float latent vectors.
    rows : ndarray of shape (n_used,) or None
        Rows to run on; all rows if None.
    progress : callable or None
        Called with the number of rows done after each batch (e.g. ``tqdm.update``).

    Returns
    -------
    out : ndarray of shape (n_used, ...) float32, row k = model(inputs[rows[k]])
    """
    rows = np.arange(len(inputs)) if rows is None else rows
    outputs = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        outputs.append(np.asarray(model.predict_on_batch(to_model_input(inputs[batch])), dtype=np.float32))
        if progress is not None:
            progress(len(batch))
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)


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
