"""The convolutional autoencoder of the series, as backend-agnostic Keras 3.

Encoder: 4 Conv2D layers (filters 64, 64, 128, 128 by default) -> Flatten -> Dense(latent_dim).
Decoder: Dense -> Reshape -> 4 mirrored Conv2DTranspose layers (128, 128, 64, 64)
-> an output Conv2DTranspose with 3 channels and a sigmoid (pixels in [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers

from latentspace.batch_norm import FusedBatchNormalization


@dataclass(frozen=True)
class ArchitectureConfig:
    """Layer structure of the autoencoder; every field comes from ``params.yaml: model``."""

    image_size: int
    latent_dim: int
    filters: tuple[int, ...]
    kernel_sizes: tuple[int, ...]
    strides: tuple[int, ...]
    batch_norm: bool
    activation: str
    dropout: float = 0.0

    def __post_init__(self):
        n = len(self.filters)
        if not (len(self.kernel_sizes) == len(self.strides) == n):
            raise ValueError(
                "model.filters, model.kernel_sizes and model.strides must have the same length, "
                f"got {len(self.filters)}, {len(self.kernel_sizes)}, {len(self.strides)}"
            )
        if self.image_size % self.total_stride:
            raise ValueError(
                f"prepare.image_size={self.image_size} must be divisible by the product of "
                f"model.strides ({self.total_stride})"
            )

    @property
    def total_stride(self) -> int:
        return math.prod(self.strides)

    @property
    def bottleneck_size(self) -> int:
        """Side length of the last convolutional feature map."""
        return self.image_size // self.total_stride


def _conv_block(x, layer_cls, filters, kernel, stride, cfg: ArchitectureConfig, name: str, norm_cls):
    x = layer_cls(filters, kernel, strides=stride, padding="same", name=name)(x)
    if cfg.batch_norm:
        x = norm_cls(name=f"{name}_bn")(x)
    x = layers.Activation(cfg.activation, name=f"{name}_act")(x)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout, name=f"{name}_dropout")(x)
    return x


def build_encoder(cfg: ArchitectureConfig, norm_cls=FusedBatchNormalization) -> keras.Model:
    """Images of shape (batch, S, S, 3) in [0, 1] -> latent vectors of shape (batch, latent_dim).

    ``norm_cls`` is the BatchNormalization layer class (``keras.layers.BatchNormalization``
    to time or check the fused one against Keras' own).
    """
    inputs = keras.Input((cfg.image_size, cfg.image_size, 3), name="image")
    x = inputs
    for i, (f, k, s) in enumerate(zip(cfg.filters, cfg.kernel_sizes, cfg.strides)):
        x = _conv_block(x, layers.Conv2D, f, k, s, cfg, name=f"encoder_conv_{i}", norm_cls=norm_cls)
    x = layers.Flatten(name="encoder_flatten")(x)  # (batch, b*b*filters[-1])
    # float32 even under a mixed-precision policy: the latent vectors are what the study measures.
    z = layers.Dense(cfg.latent_dim, name="encoder_z", dtype="float32")(x)
    return keras.Model(inputs, z, name="encoder")


def build_decoder(cfg: ArchitectureConfig, norm_cls=FusedBatchNormalization) -> keras.Model:
    """Latent vectors of shape (batch, latent_dim) -> images of shape (batch, S, S, 3) in [0, 1]."""
    b, top = cfg.bottleneck_size, cfg.filters[-1]
    inputs = keras.Input((cfg.latent_dim,), name="z")
    x = layers.Dense(b * b * top, name="decoder_dense")(inputs)
    x = layers.Reshape((b, b, top), name="decoder_reshape")(x)  # (batch, b, b, filters[-1])
    # Mirror the encoder: layer i of the decoder undoes encoder layer n-1-i.
    mirrored = list(zip(cfg.filters, cfg.kernel_sizes, cfg.strides))[::-1]
    for i, (f, k, s) in enumerate(mirrored):
        x = _conv_block(x, layers.Conv2DTranspose, f, k, s, cfg, name=f"decoder_deconv_{i}", norm_cls=norm_cls)
    outputs = layers.Conv2DTranspose(
        3, cfg.kernel_sizes[0], padding="same", activation="sigmoid", name="decoder_image", dtype="float32"
    )(x)  # float32 under mixed precision too, so the loss is computed at full precision
    return keras.Model(inputs, outputs, name="decoder")


def save_model(model: keras.Model, path) -> None:
    """Save ``model`` in Keras' ``.keras`` format, written atomically and reproducibly.

    Keras stamps the file with the time of saving (``date_saved`` in ``metadata.json`` and the
    zip entry of the weights) and numbers shared objects in ``config.json`` by their memory
    address. The time is dropped and the numbers become 0, 1, ... in order of appearance, so
    the same weights give the same bytes: DVC then sees a retrained but identical model as
    unchanged and does not re-run what follows it.
    """
    import json
    import zipfile

    from latentspace.io import atomic_path

    with atomic_path(path) as tmp:
        keras.saving.save_model(model, tmp)
        with zipfile.ZipFile(tmp) as saved:
            entries = [(info, saved.read(info)) for info in saved.infolist()]
        with zipfile.ZipFile(tmp, "w") as out:
            for info, data in entries:
                if info.filename == "metadata.json":
                    metadata = json.loads(data)
                    metadata.pop("date_saved", None)
                    data = json.dumps(metadata).encode()
                elif info.filename == "config.json":
                    data = json.dumps(_renumber_shared_objects(json.loads(data), {})).encode()
                fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
                out.writestr(fixed, data)


def _renumber_shared_objects(node, ids: dict):
    """``node`` with every ``shared_object_id`` replaced by its order of first appearance."""
    if isinstance(node, list):
        return [_renumber_shared_objects(item, ids) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: ids.setdefault(value, len(ids)) if key == "shared_object_id"
            else _renumber_shared_objects(value, ids) for key, value in node.items()}


def load_autoencoder(path) -> keras.Model:
    """The autoencoder saved by the train stage.

    ``safe_mode=True`` (Keras' default, stated here on purpose): a file whose config holds
    Python code (a ``Lambda`` layer's bytecode) is refused instead of run.

    Raises
    ------
    latentspace.io.InputError
        If the file is missing, not a ``.keras`` archive, or not loadable safely.
    """
    from latentspace.io import InputError, require_file

    path = require_file(path, "the train stage")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise InputError(f"{path}: not a loadable .keras autoencoder ({reason}); re-run the train stage") from None


def load_part(path, part: str) -> keras.Model:
    """The ``"encoder"`` or ``"decoder"`` of an autoencoder saved by the train stage."""
    from latentspace.io import InputError

    model = load_autoencoder(path)
    try:
        return model.get_layer(part)
    except ValueError:
        raise InputError(f"{path}: has no {part!r} part; expected the train stage's autoencoder") from None


def build_autoencoder(cfg: ArchitectureConfig, norm_cls=FusedBatchNormalization) -> keras.Model:
    """Encoder and decoder chained; both stay reachable as ``model.get_layer("encoder")``
    and ``model.get_layer("decoder")``, also after ``keras.saving.load_model``."""
    encoder, decoder = build_encoder(cfg, norm_cls), build_decoder(cfg, norm_cls)
    inputs = keras.Input((cfg.image_size, cfg.image_size, 3), name="image")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
