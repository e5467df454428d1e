"""Where and in what precision training runs, through each backend's own engine.

This is the one module that names backend-specific APIs: `tf.distribute.MirroredStrategy`
under TensorFlow and `keras.distribution.DataParallel` under JAX. The model and training
code stay plain Keras 3.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from typing import Iterator

import keras

from latentspace.params import DISTRIBUTIONS, PRECISIONS


def split_host_cpu(n_devices: int) -> None:
    """Present the host CPU as ``n_devices`` logical devices, to try data parallelism without GPUs.

    Call it before the backend creates any tensor (JAX: before ``jax`` is imported). The
    replicas share the same cores, so this is for testing, not speed.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
    elif backend == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + f" --xla_force_host_platform_device_count={n_devices}").strip()
    else:
        raise ValueError(f"split_host_cpu: backend {backend!r} is not supported (tensorflow, jax)")


def local_devices() -> list[str]:
    """Names of this machine's GPUs (or TPUs), or of its CPU devices where it has none."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")]
    return keras.distribution.list_devices()


@contextlib.contextmanager
def distributed(kind: str) -> Iterator[int]:
    """Build, compile, fit and save the model inside this context.

    Parameters
    ----------
    kind : {"none", "data_parallel"}
        ``data_parallel`` copies the model onto every local device (:func:`local_devices`),
        splits each batch between them and averages the gradients: TensorFlow's
        ``MirroredStrategy`` or JAX's ``keras.distribution.DataParallel``. The batch size
        stays the global one (``train.batch_size``). Under TensorFlow, BatchNormalization
        normalises each replica's share of the batch; under JAX it sees the whole batch.

    Yields
    ------
    replicas : int
        Number of devices training in parallel (1 for ``none``).
    """
    if kind not in DISTRIBUTIONS:
        raise ValueError(f"train.distribution = {kind!r}: must be one of {', '.join(DISTRIBUTIONS)}")
    if kind == "none":
        yield 1
        return
    backend = keras.backend.backend()
    devices = local_devices()
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            yield strategy.num_replicas_in_sync
    elif backend == "jax":
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield len(devices)
        finally:
            keras.distribution.set_distribution(previous)
    else:
        raise ValueError(f"train.distribution = data_parallel is not supported with the {backend} backend "
                         "(tensorflow, jax)")


def replicas(model: keras.Model) -> int:
    """Number of devices ``model`` runs on in parallel: TensorFlow ties a model to the
    strategy it was built under; a JAX distribution is global."""
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    if strategy is not None:
        return strategy.num_replicas_in_sync
    current = keras.distribution.distribution()
    return 1 if current is None else len(current.device_mesh.devices.ravel())


def model_input(model: keras.Model, batches: keras.utils.PyDataset, *, repeat: bool = False):
    """What to hand ``model.fit`` / ``model.predict`` for ``batches``.

    The PyDataset itself, except for a TensorFlow model on several replicas. There, fed a
    PyDataset, MirroredStrategy does not split each batch the way it splits an array's, and
    training drifts from the one-device result (tests/test_distribution.py). Re-batching
    through tf.data makes the batch dimension visible, so every batch is split between the
    replicas.

    Parameters
    ----------
    repeat : bool
        For ``fit``: one endless pass over the epochs from ``batches.epoch`` on, epoch ``e`` served by
        ``batches.at_epoch(e)`` (see :class:`latentspace.training.UInt8Batches`), so the
        caller must give ``steps_per_epoch=len(batches)``. Counting ``on_epoch_begin`` calls
        would not do: tf.distribute opens and drains an iterator more than it uses.
    """
    if replicas(model) == 1 or keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    spec = tuple(tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype)) for x in batches[0])

    def epochs():
        # Each generator counts its own epochs: tf.distribute may run one more than it uses.
        for epoch in itertools.count(batches.epoch) if repeat else [None]:
            view = batches if epoch is None else batches.at_epoch(epoch)
            for i in range(len(view)):
                yield view[i]

    dataset = tf.data.Dataset.from_generator(epochs, output_signature=spec)
    return dataset.unbatch().batch(batches.batch_size).prefetch(tf.data.AUTOTUNE)


def set_precision(policy: str) -> None:
    """Compute in ``policy`` from now on (``mixed_*``: float16/bfloat16 maths, float32 weights).

    Under ``mixed_float16`` Keras scales the loss itself (``compile(auto_scale_loss=True)``).
    """
    if policy not in PRECISIONS:
        raise ValueError(f"train.precision = {policy!r}: must be one of {', '.join(PRECISIONS)}")
    keras.config.set_dtype_policy(policy)


def set_deterministic(enabled: bool) -> None:
    """Make every op deterministic, so the same seed gives the same weights on a GPU too.

    Call it before the backend runs anything. TensorFlow: ``enable_op_determinism`` (ops without
    a deterministic kernel then raise instead of varying). JAX: XLA's deterministic GPU ops.
    PyTorch: ``use_deterministic_algorithms``. On a CPU the default kernels are already
    repeatable (tested); on a GPU this costs speed, hence ``train.deterministic: false``.
    """
    if not enabled:
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()
    elif backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS' own condition for determinism
        torch.use_deterministic_algorithms(True)
