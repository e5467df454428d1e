"""Floating-point operations of a Keras 3 model's forward pass, per input example, layer by layer.

Conventions:

- A multiply-add counts as 2 FLOPs.
- Conv2D: ``2 * H_out * W_out * C_out * kh * kw * C_in / groups``; Conv2DTranspose:
  ``2 * H_in * W_in * C_in * kh * kw * C_out`` (every input pixel scatters a full kernel,
  including the taps that 'same' padding later crops); Dense: ``2 * in * out`` (times the
  leading non-batch axes of a >2-D input). A bias adds 1 FLOP per output element.
- Elementwise layers, per element of the layer's output (inference mode):
  BatchNormalization 2 (its statistics fold into one scale and one shift per channel; the
  per-channel folding itself is not counted); a non-linear activation 1 (relu, leaky_relu,
  sigmoid, tanh, ...: a transcendental counts as 1, like a comparison); a linear activation 0.
  An ``activation=`` fused into Conv2D, Conv2DTranspose or Dense is counted the same way.
- InputLayer, Flatten, Reshape and Dropout (the identity at inference) cost 0.
- A nested ``keras.Model`` (the autoencoder's encoder and decoder) is counted layer by layer.
- Any other layer type raises ``TypeError``: it is never silently counted as 0.

XLA's own count (``jax.jit(f).lower(...).compile().cost_analysis()["flops"]``) is a little
lower: it skips the kernel taps that fall into 'same' padding and costs elementwise work its
own way (leaky_relu and sigmoid at 3 per element, for one); tests/test_flops.py compares.
"""

from __future__ import annotations

import math

import keras

#: FLOPs per output element of an inference-mode BatchNormalization (one scale, one shift).
BATCH_NORM_FLOPS_PER_ELEMENT = 2
#: FLOPs per output element of any non-linear activation function.
ACTIVATION_FLOPS_PER_ELEMENT = 1

_ZERO_COST = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout)
_ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU)
_WEIGHTED = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)
_COUNTED = _ZERO_COST + _ACTIVATION_LAYERS + _WEIGHTED + (keras.layers.BatchNormalization,)


def _per_example_size(shape) -> int:
    """Number of elements of a symbolic shape ``(batch, ...)`` without the batch axis."""
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(f"FLOPs need static shapes, got {tuple(shape)}")
    return math.prod(dims)


def _activation_flops(activation, n_elements: int) -> int:
    name = getattr(activation, "__name__", str(activation))
    return 0 if name == "linear" else ACTIVATION_FLOPS_PER_ELEMENT * n_elements


def _single_call_shapes(layer):
    """Input and output shape ``(None, ...)`` of a layer called exactly once in a built model."""
    n_calls = len(getattr(layer, "_inbound_nodes", ()))
    if n_calls > 1:
        raise ValueError(f"layer {layer.name!r} is called {n_calls} times; shared layers are not supported")
    try:
        return tuple(layer.input.shape), tuple(layer.output.shape)
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"layer {layer.name!r} has no symbolic input/output: count FLOPs of a functional model "
            "or of a Sequential model built with keras.Input"
        ) from err


def layer_flops(layer) -> int:
    """Forward-pass FLOPs per input example of one (non-model) layer of a built model.

    Parameters
    ----------
    layer : keras.layers.Layer
        Called once in a functional or built Sequential model, so its input and output
        shapes ``(None, ...)`` are known.

    Returns
    -------
    flops : int
        See the module docstring for the count of each layer type.

    Raises
    ------
    TypeError
        For a layer type this module does not know how to count.
    ValueError
        For a layer without symbolic shapes (an unbuilt Sequential, a subclassed model's
        inner layer) or called more than once (shared layers).
    """
    if not isinstance(layer, _COUNTED):
        raise TypeError(
            f"don't know the FLOPs of layer {layer.name!r} of type {type(layer).__name__}"
            f"{' (it has weights)' if layer.weights else ''}; latentspace.flops counts Conv2D, "
            "Conv2DTranspose, Dense, BatchNormalization, activations, InputLayer, Flatten, Reshape, "
            "Dropout and nested models"
        )
    if isinstance(layer, _ZERO_COST):
        return 0
    in_shape, out_shape = _single_call_shapes(layer)
    n_in, n_out = _per_example_size(in_shape), _per_example_size(out_shape)

    if isinstance(layer, _WEIGHTED):
        kernel = math.prod(layer.kernel.shape)
        if isinstance(layer, keras.layers.Conv2D):
            # kernel (kh, kw, C_in / groups, C_out) is applied at every output pixel
            positions = n_out // layer.filters
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            # kernel (kh, kw, C_out, C_in) is scattered from every input pixel
            positions = n_in // layer.kernel.shape[-1]
        else:
            # kernel (in, out) is applied at every position of the leading non-batch axes
            positions = n_in // layer.kernel.shape[0]
        flops = 2 * positions * kernel
        if layer.use_bias:
            flops += n_out
        return flops + _activation_flops(layer.activation, n_out)

    if isinstance(layer, keras.layers.BatchNormalization):
        return BATCH_NORM_FLOPS_PER_ELEMENT * n_out
    if isinstance(layer, keras.layers.Activation):
        return _activation_flops(layer.activation, n_out)
    return ACTIVATION_FLOPS_PER_ELEMENT * n_out  # ReLU, LeakyReLU


def forward_flops_by_layer(model: keras.Model) -> dict[str, int]:
    """Forward-pass FLOPs per input example of every layer of ``model``.

    Parameters
    ----------
    model : keras.Model
        A functional model, or a Sequential model built with ``keras.Input``. Nested models
        are opened up.

    Returns
    -------
    flops : dict of str to int
        Layer path (``"encoder/encoder_conv_0"`` for a layer of a nested model) to its FLOPs,
        in the model's layer order.
    """
    counts = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _single_call_shapes(layer)  # a nested model called twice would count twice
            counts.update({f"{layer.name}/{k}": v for k, v in forward_flops_by_layer(layer).items()})
        else:
            counts[layer.name] = layer_flops(layer)
    return counts


def forward_flops(model: keras.Model) -> int:
    """Total forward-pass (inference) FLOPs of ``model`` per input example.

    Parameters
    ----------
    model : keras.Model
        See :func:`forward_flops_by_layer`.

    Returns
    -------
    flops : int
        A batch of ``B`` examples costs ``B * flops``.
    """
    return sum(forward_flops_by_layer(model).values())


def training_step_flops(model: keras.Model) -> int:
    """FLOPs of one training step per example: forward + backward ~ 3 x forward.

    The backward pass is taken as twice the forward pass, the standard approximation: every
    matrix product of the forward pass has two of the same size in the backward pass, one for
    the gradient with respect to its input and one for the gradient with respect to its
    weights. The loss, the optimizer update (a few FLOPs per weight, once per batch rather than
    per example) and batch-statistics of BatchNormalization in training mode are left out.

    Parameters
    ----------
    model : keras.Model
        See :func:`forward_flops_by_layer`.

    Returns
    -------
    flops : int
        ``3 * forward_flops(model)``; a step on a batch of ``B`` examples costs ``B * flops``.
    """
    return 3 * forward_flops(model)
