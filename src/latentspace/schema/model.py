"""``model:`` in params.yaml: the autoencoder's architecture."""

import math

from latentspace.params import (
    FILTERS_MAX, KERNEL_MAX, LATENT_MAX, STRIDE_MAX, Boolean, Choice, ListOf, Number, invalid,
)

SECTION = {
    "latent_dim": Number(int, 2, LATENT_MAX),
    "filters": ListOf(Number(int, 1, FILTERS_MAX)),
    "kernel_sizes": ListOf(Number(int, 1, KERNEL_MAX)),
    "strides": ListOf(Number(int, 1, STRIDE_MAX)),
    "batch_norm": Boolean(),
    "activation": Choice(("relu", "leaky_relu", "elu", "gelu", "selu", "swish", "tanh")),
    "dropout": Number(float, 0, 0.9),
}


def check(p: dict) -> None:
    """Checks across keys; ``p`` is the whole validated params."""
    m = p["model"]
    if len(m["filters"]) != len(m["kernel_sizes"]) or len(m["filters"]) != len(m["strides"]):
        raise invalid("model.kernel_sizes", m["kernel_sizes"], "must have one entry per model.filters entry")
    total_stride = math.prod(m["strides"])
    size = p["prepare"]["image_size"]
    if size % total_stride:
        raise invalid("prepare.image_size", size, f"must be divisible by the product of model.strides ({total_stride})")
