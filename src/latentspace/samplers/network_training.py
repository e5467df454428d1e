"""Seeded mini-batches and the loss convention for the network samplers (:mod:`.network`)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np


def mean_of_output(y_true, y_pred):
    """The loss of a network whose output is already each row's loss: Keras averages it over the batch."""
    return y_pred


class RowBatches(keras.utils.PyDataset):
    """Mini-batches of rows for ``keras.Model.fit`` whose order, and whose extra random inputs,
    depend on ``seed``, the epoch and the batch index only (never on global state), so a
    network's training repeats exactly.

    Parameters
    ----------
    x : ndarray of shape (n, d), float32
    batch_size : int
        Rows per batch (at most n); the last, partial batch of an epoch is dropped.
    make_inputs : callable (x_batch, rng) -> tuple of ndarray
        The network's inputs for one batch, e.g. ``(x_batch,)`` or ``(x_batch, t, noise)``.
    seed : int
    """

    def __init__(self, x: np.ndarray, batch_size: int, make_inputs: Callable, *, seed: int):
        super().__init__()
        self.x, self.batch_size, self.make_inputs, self.seed = x, min(batch_size, len(x)), make_inputs, seed
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))

    def __len__(self) -> int:
        return len(self.x) // self.batch_size

    def __getitem__(self, i: int):
        rows = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        inputs = self.make_inputs(self.x[rows], np.random.default_rng([self.seed, self.epoch, i, 1]))
        inputs = inputs[0] if len(inputs) == 1 else inputs  # a one-input network takes the array itself
        return inputs, np.zeros(len(rows), dtype=np.float32)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()
