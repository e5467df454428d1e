"""Training input and bookkeeping for the autoencoder, backend-agnostic Keras 3."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import keras
import numpy as np

from latentspace.distribution import model_input, replicas
from latentspace.io import atomic_path, save_json, written_now
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
    first_epoch : int
        The epoch served until :meth:`set_epoch` says otherwise (a resumed run's ``initial_epoch``).
    """

    def __init__(self, images, indices, batch_size: int, *, seed: int | None = None, threads: int = 1,
                 first_epoch: int = 0):
        super().__init__(workers=threads, use_multiprocessing=False)
        self.images, self.batch_size, self.seed = images, batch_size, seed
        self.indices = np.asarray(indices)
        self.order = self.indices
        self.set_epoch(first_epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, i: int):
        # Sorted rows read a memory map sequentially; the batch's order doesn't matter to the loss.
        rows = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = to_model_input(self.images[rows])  # (batch, S, S, 3)
        return x, x

    def at_epoch(self, epoch: int) -> "UInt8Batches":
        """A copy serving epoch ``epoch``'s batches; this one is left as it is."""
        view = copy.copy(self)
        view.set_epoch(epoch)
        return view

    def set_epoch(self, epoch: int):
        """Serve epoch ``epoch``'s order from now on (see :class:`FollowEpochs`)."""
        self.epoch = epoch
        if self.seed is not None:
            self.order = np.random.default_rng([self.seed, epoch]).permutation(self.indices)


class FollowEpochs(keras.callbacks.Callback):
    """Switch ``batches`` to each epoch's order from Keras' own epoch number.

    Not the PyDataset's ``on_epoch_begin``/``on_epoch_end`` hooks: Keras calls ``on_epoch_end``
    once more before the first epoch, and starts the loader threads of an epoch *before* it
    calls ``on_epoch_begin``, so they may read the old order (a race that varied the weights
    from run to run). A callback's ``on_epoch_begin`` runs before the threads start.
    """

    def __init__(self, batches: UInt8Batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)


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

    def replay(self, history: dict[str, list[float]]) -> None:
        """Log the epochs of a resumed run that an earlier, interrupted run trained."""
        for epoch in range(max(map(len, history.values()), default=0)):
            self.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})


class NonFiniteLoss(ValueError):
    """The training loss became NaN or infinite: every later step would train on garbage.

    Attributes
    ----------
    epoch, step : int
        Where it happened, both counted from 1 (``step`` within the epoch).
    value : float
    """

    def __init__(self, epoch: int, step: int, value: float):
        super().__init__(f"the training loss became {value} at epoch {epoch}, step {step}")
        self.epoch, self.step, self.value = epoch, step, value


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise :class:`NonFiniteLoss` at the first step whose running loss is not finite.

    Keras' ``TerminateOnNaN`` stops ``fit`` quietly and lets the caller save the broken
    model; raising ends the run before anything is written.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(self.epoch + 1, batch + 1, float(loss))


class EpochBackup(keras.callbacks.Callback):
    """The training state after every epoch, so a killed run resumes from its last finished one.

    Each epoch's state is one folder ``epoch-NNNN/`` holding the weights (with the optimizer's
    state) and the losses so far, written under a temporary name and renamed when complete;
    the older one is deleted afterwards. A kill at any moment leaves the last complete epoch
    readable. (Keras' ``BackupAndRestore`` writes the weights and the epoch number as two files
    in place, so a kill between the two writes would resume the wrong epoch, and it keeps no
    losses for the curves.)

    Parameters
    ----------
    directory : path
        Used by this run alone: see :meth:`for_run`. Keep it outside the stage's outputs,
        which DVC deletes before it runs a stage.
    """

    _EPOCH = re.compile(r"epoch-(\d{4,})")

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)
        self.history: dict[str, list[float]] = {}

    @classmethod
    def for_run(cls, root, config: dict, files=()) -> "EpochBackup":
        """A backup under ``root`` named by a hash of ``config`` and of the contents of ``files``,
        so a run with other params or data never resumes from this one's state."""
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
        for path in files:
            with open(path, "rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
        return cls(Path(root, digest.hexdigest()[:20]))

    def _epochs(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (self._EPOCH.fullmatch(p.name) for p in self.directory.iterdir())
        return sorted(int(m[1]) for m in found if m)

    def _folder(self, epoch: int) -> Path:
        return self.directory / f"epoch-{epoch:04d}"

    def completed(self) -> tuple[int, dict[str, list[float]]]:
        """Epochs finished by earlier runs, and their losses (``history[key][epoch]``); ``0, {}`` if none."""
        epochs = self._epochs()
        if not epochs:
            return 0, {}
        state = json.loads((self._folder(epochs[-1]) / "state.json").read_text())
        return state["epochs"], state["history"]

    def restore(self, model: keras.Model) -> int:
        """Load the last finished epoch's weights and optimizer state into the compiled
        ``model``; return the number of epochs already trained (0: nothing to resume)."""
        done, self.history = self.completed()
        if done:
            model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
            model.load_weights(self._folder(done) / "model.weights.h5")
            states = np.load(self._folder(done) / "seed_states.npy", allow_pickle=False)
            for variable, state in zip(_seed_states(model), states, strict=True):
                variable.assign(state)
        return done

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        with written_now(), atomic_path(self._folder(epoch + 1), directory=True) as tmp:
            self.model.save_weights(tmp / "model.weights.h5")
            np.save(tmp / "seed_states.npy", _seed_state_values(self.model))
            save_json(tmp / "state.json", {"epochs": epoch + 1, "history": self.history})
        for old in self._epochs()[:-1]:
            shutil.rmtree(self._folder(old), ignore_errors=True)

    def clear(self) -> None:
        """Delete the backup: call it once the trained model is safely saved."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _seed_states(model: keras.Model) -> list:
    # Dropout draws its masks from a SeedGenerator whose counter save_weights leaves out.
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _seed_state_values(model: keras.Model) -> np.ndarray:
    """Shape (n_generators, 2): every SeedGenerator's counter, in the model's variable order."""
    values = [keras.ops.convert_to_numpy(v) for v in _seed_states(model)]
    return np.stack(values) if values else np.zeros((0, 2), np.uint32)


def compile_autoencoder(model: keras.Model, *, optimizer: str, learning_rate: float, loss: str,
                        steps_per_execution: int = 1, lr_schedule: str = "constant", total_steps: int = 0) -> None:
    """Compile ``model`` with the named optimizer and loss.

    ``lr_schedule="cosine"`` decays the learning rate from ``learning_rate`` to 0 along half a
    cosine over ``total_steps`` batches (Loshchilov & Hutter 2017, without restarts): for a
    fixed number of epochs it ends at a lower loss than a constant rate. The schedule reads
    the optimizer's step counter, which the epoch backup restores, so a resumed run follows it.
    """
    if lr_schedule == "cosine":
        if total_steps < 1:
            raise ValueError(f"compile_autoencoder: lr_schedule='cosine' needs total_steps >= 1, got {total_steps}")
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    elif lr_schedule != "constant":
        raise ValueError(f"compile_autoencoder: lr_schedule={lr_schedule!r}; allowed: 'constant', 'cosine'")
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=opt, loss=loss, steps_per_execution=steps_per_execution)


def train_autoencoder(cfg: ArchitectureConfig, images, train_idx, val_idx, *, seed: int, epochs: int,
                      batch_size: int, optimizer: str, learning_rate: float, loss: str, loader_threads: int = 1,
                      lr_schedule: str = "constant", steps_per_execution: int = 1, bn_recalibration_images: int = 0,
                      backup: EpochBackup | None = None, callbacks=(), verbose=0):
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
    bn_recalibration_images : int
        After the last epoch, :func:`recalibrate_batch_norm` on this many training images
        (a subset drawn with ``seed``); 0 keeps the moving averages of training.
    backup : EpochBackup or None
        Save the state after every epoch there, and first resume from it if an earlier run
        was interrupted. The resumed run ends with the same weights as an uninterrupted one
        (where the ops are deterministic): epoch ``e``'s batches depend only on ``seed`` and ``e``.

    Returns
    -------
    model : keras.Model
    history : dict of str to list of float, e.g. ``history["val_loss"][epoch]``, resumed epochs included
    """
    keras.utils.set_random_seed(seed)
    model = build_autoencoder(cfg)
    steps_per_epoch = math.ceil(len(train_idx) / batch_size)
    compile_autoencoder(model, optimizer=optimizer, learning_rate=learning_rate, loss=loss,
                        steps_per_execution=steps_per_execution, lr_schedule=lr_schedule,
                        total_steps=epochs * steps_per_epoch)
    first_epoch = backup.restore(model) if backup is not None else 0
    train_batches = UInt8Batches(images, train_idx, batch_size, seed=seed, threads=loader_threads,
                                 first_epoch=first_epoch)
    val_batches = UInt8Batches(images, val_idx, batch_size, threads=loader_threads)
    # shuffle=False: the batches are already in their seeded order; Keras would otherwise also
    # permute a PyDataset's batches with Python's global `random`, and only on some input paths.
    fit = model.fit(model_input(model, train_batches, repeat=True), steps_per_epoch=len(train_batches),
                    validation_data=model_input(model, val_batches, repeat=True),
                    validation_steps=len(val_batches), initial_epoch=first_epoch, epochs=epochs, shuffle=False,
                    verbose=verbose,
                    callbacks=[FollowEpochs(train_batches), StopOnNonFiniteLoss(),
                               *([backup] if backup is not None else []), *callbacks])
    if bn_recalibration_images:
        n = min(bn_recalibration_images, len(train_idx))
        rows = np.sort(np.random.default_rng(seed).choice(train_idx, size=n, replace=False))
        recalibrate_batch_norm(model, images, rows, batch_size)
    if backup is None:
        return model, fit.history
    return model, backup.history


def _sublayers(layer) -> list:
    """``layer`` and every layer nested in it (the autoencoder holds the encoder and decoder models)."""
    return [layer, *(sub for child in getattr(layer, "layers", []) for sub in _sublayers(child))]


def recalibrate_batch_norm(model: keras.Model, images, rows, batch_size: int) -> int:
    """Replace every BatchNormalization layer's moving mean and variance by the average of its
    batch statistics over ``images[rows]`` under the final weights ("precise BN").

    During training the moving averages follow weights that keep changing; after few steps
    (large batches, few epochs) they lag behind them, and inference, which uses them, does
    worse than training. Each batch's statistics enter weighted by its size, so the moving
    mean becomes the mean of the layer's input over all of ``rows``. Dropout stays off while
    this runs, and no weight changes.

    Parameters
    ----------
    images : ndarray of shape (n_images, S, S, 3), uint8
    rows : ndarray of shape (n_rows,)
    batch_size : int

    Returns
    -------
    n_layers : int
        BatchNormalization layers recalibrated (0 for a model without any).
    """
    layers = _sublayers(model)
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    if not norms or not len(rows):
        return len(norms)
    saved = [layer.momentum for layer in norms], [layer.rate for layer in dropouts]
    try:
        for layer in dropouts:  # training=True below is for the statistics, not for the masks
            layer.rate = 0.0
        seen = 0
        for start in range(0, len(rows), batch_size):
            batch = to_model_input(images[np.sort(rows[start:start + batch_size])])
            for layer in norms:  # moving <- (seen * moving + len(batch) * batch statistic) / (seen + len(batch))
                layer.momentum = seen / (seen + len(batch))
            model(batch, training=True)
            seen += len(batch)
    finally:
        for layer, momentum in zip(norms, saved[0]):
            layer.momentum = momentum
        for layer, rate in zip(dropouts, saved[1]):
            layer.rate = rate
    return len(norms)


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


def reconstruction_loss(loss: str, originals: np.ndarray, reconstructions: np.ndarray) -> float:
    """The mean of Keras' loss ``loss`` (the name given to ``compile``) over all images.

    Parameters
    ----------
    originals, reconstructions : ndarray of shape (n, S, S, 3), in [0, 1]
    """
    per_image = keras.losses.get(loss)(np.asarray(originals, np.float32), np.asarray(reconstructions, np.float32))
    return float(np.mean(keras.ops.convert_to_numpy(per_image), dtype=np.float64))


def mean_image(images, rows, chunk_rows: int = 4096) -> np.ndarray:
    """The mean of ``images[rows]`` in the model's [0, 1] scale, read in chunks of rows.

    Parameters
    ----------
    images : ndarray of shape (n_images, S, S, 3), uint8
    rows : ndarray of shape (n_rows,), n_rows >= 1

    Returns
    -------
    mean : ndarray of shape (S, S, 3), float64
    """
    total = np.zeros(images.shape[1:], dtype=np.float64)
    for start in range(0, len(rows), chunk_rows):
        total += to_model_input(images[np.sort(rows[start:start + chunk_rows])]).sum(axis=0, dtype=np.float64)
    return total / len(rows)


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
