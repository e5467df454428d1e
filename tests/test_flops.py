"""Forward-pass FLOP counts against hand-computed counts and against XLA's own cost analysis."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import pytest

from latentspace.flops import forward_flops, forward_flops_by_layer, layer_flops, training_step_flops
from latentspace.model import ArchitectureConfig, build_autoencoder


def one_layer_model(input_shape, layer):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


def small_conv_dense_model():
    """(32, 32, 3) -> Conv2D s2 'same' -> BN -> relu -> Conv2DTranspose s2 'same' -> Dense(10)."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv")(inputs)  # (16, 16, 8)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Activation("relu", name="act")(x)
    x = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="deconv")(x)  # (32, 32, 4)
    x = keras.layers.Flatten(name="flatten")(x)  # (4096,)
    return keras.Model(inputs, keras.layers.Dense(10, name="dense")(x))


SMALL_MODEL_FLOPS = {
    "input_layer": 0,
    "conv": 2 * 16 * 16 * 8 * 3 * 3 * 3 + 16 * 16 * 8,  # 110592 multiply-add FLOPs + 2048 bias
    "bn": 2 * 16 * 16 * 8,
    "act": 16 * 16 * 8,
    "deconv": 2 * 16 * 16 * 8 * 3 * 3 * 4 + 32 * 32 * 4,  # 147456 + 4096 bias
    "flatten": 0,
    "dense": 2 * 4096 * 10 + 10,
}


def test_single_dense():
    assert forward_flops(one_layer_model((32,), keras.layers.Dense(10))) == 2 * 32 * 10 + 10
    assert forward_flops(one_layer_model((32,), keras.layers.Dense(10, use_bias=False))) == 2 * 32 * 10
    # applied at each of the 5 positions of a (5, 32) input; a fused relu costs 1 per output element
    assert forward_flops(one_layer_model((5, 32), keras.layers.Dense(10, activation="relu"))) == 5 * (640 + 10 + 10)


def test_single_conv2d_stride_2_same():
    model = one_layer_model((16, 16, 3), keras.layers.Conv2D(8, 3, strides=2, padding="same"))
    assert model.output_shape == (None, 8, 8, 8)
    assert forward_flops(model) == 2 * 8 * 8 * 8 * 3 * 3 * 3 + 8 * 8 * 8  # 27648 + 512


def test_single_conv2d_transpose():
    model = one_layer_model((8, 8, 8), keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"))
    assert model.output_shape == (None, 16, 16, 4)
    assert forward_flops(model) == 2 * 8 * 8 * 8 * 3 * 3 * 4 + 16 * 16 * 4  # 36864 + 1024


def test_elementwise_layers():
    assert forward_flops(one_layer_model((4, 4, 2), keras.layers.BatchNormalization())) == 2 * 32
    assert forward_flops(one_layer_model((4, 4, 2), keras.layers.Activation("sigmoid"))) == 32
    assert forward_flops(one_layer_model((4, 4, 2), keras.layers.Activation("linear"))) == 0
    assert forward_flops(one_layer_model((4, 4, 2), keras.layers.LeakyReLU())) == 32
    assert forward_flops(one_layer_model((4, 4, 2), keras.layers.Dropout(0.5))) == 0


def test_small_model_layer_by_layer_and_training_step():
    model = small_conv_dense_model()
    by_layer = forward_flops_by_layer(model)
    assert by_layer == {model.layers[0].name: 0, **{k: v for k, v in SMALL_MODEL_FLOPS.items() if k != "input_layer"}}
    assert training_step_flops(model) == 3 * sum(SMALL_MODEL_FLOPS.values()) == 3 * 352266


def test_unknown_layers_raise():
    with pytest.raises(TypeError, match="DepthwiseConv2D.*has weights"):
        forward_flops(one_layer_model((8, 8, 3), keras.layers.DepthwiseConv2D(3)))
    with pytest.raises(TypeError, match="MaxPooling2D"):
        forward_flops(one_layer_model((8, 8, 3), keras.layers.MaxPooling2D()))
    with pytest.raises(ValueError, match="keras.Input"):
        forward_flops(keras.Sequential([keras.layers.Dense(4)]))
    shared = keras.layers.Dense(4)
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="called 2 times"):
        forward_flops(keras.Model(inputs, shared(shared(inputs))))
    with pytest.raises(ValueError, match="called 2 times"):
        layer_flops(shared)


def test_default_autoencoder_at_32px():
    cfg = ArchitectureConfig(32, 256, (64, 64, 128, 128), (3, 3, 3, 3), (2, 2, 2, 2), True, "leaky_relu")
    model = build_autoencoder(cfg)
    # (h*w*c of the output, conv multiply-add FLOPs); every conv block adds bias 1 + BN 2 + act 1 per output element
    encoder_convs = [
        (16 * 16 * 64, 2 * 16 * 16 * 64 * 9 * 3),  # 32 px, 3 -> 64 channels, stride 2
        (8 * 8 * 64, 2 * 8 * 8 * 64 * 9 * 64),
        (4 * 4 * 128, 2 * 4 * 4 * 128 * 9 * 64),
        (2 * 2 * 128, 2 * 2 * 2 * 128 * 9 * 128),
    ]
    decoder_deconvs = [  # 2 * H_in * W_in * C_in * 9 * C_out
        (4 * 4 * 128, 2 * 2 * 2 * 128 * 9 * 128),
        (8 * 8 * 128, 2 * 4 * 4 * 128 * 9 * 128),
        (16 * 16 * 64, 2 * 8 * 8 * 128 * 9 * 64),
        (32 * 32 * 64, 2 * 16 * 16 * 64 * 9 * 64),
    ]
    blocks = sum(mac + 4 * n_out for n_out, mac in encoder_convs + decoder_deconvs)
    encoder_z = 2 * 512 * 256 + 256
    decoder_dense = 2 * 256 * 512 + 512
    decoder_image = 2 * 32 * 32 * 64 * 9 * 3 + 2 * 32 * 32 * 3  # + bias and sigmoid
    expected = blocks + encoder_z + decoder_dense + decoder_image
    assert expected == 47_883_008
    assert forward_flops(model) == expected
    assert training_step_flops(model) == 3 * expected

    by_layer = forward_flops_by_layer(model)
    assert by_layer["encoder/encoder_conv_1"] == 2 * 8 * 8 * 64 * 9 * 64 + 8 * 8 * 64
    assert by_layer["decoder/decoder_deconv_3_bn"] == 2 * 32 * 32 * 64
    assert sum(v for k, v in by_layer.items() if k.startswith("encoder/")) == forward_flops(model.get_layer("encoder"))


XLA_COUNT = """
import json, sys
import jax, keras

flops = {}
for path in sys.argv[1:]:
    # Weights don't change the count: leave them uninitialized (no eager XLA compiles) and
    # pass their shapes to jit as abstract arguments.
    with keras.StatelessScope(initialize_variables=False):
        model = keras.models.model_from_json(open(path).read())
    spec = lambda v: jax.ShapeDtypeStruct(tuple(v.shape), v.dtype)
    forward = lambda weights, non_trainable, x: model.stateless_call(weights, non_trainable, x, training=False)[0]
    lowered = jax.jit(forward).lower([spec(v) for v in model.trainable_variables],
                                     [spec(v) for v in model.non_trainable_variables],
                                     jax.ShapeDtypeStruct((1, *model.input_shape[1:]), "float32"))
    cost = lowered.compile().cost_analysis()
    flops[path] = (cost[0] if isinstance(cost, list) else cost)["flops"]  # a dict in jax 0.10.2
print(json.dumps(flops))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_agrees_with_xla_cost_analysis(tmp_path):
    """The Keras backend is fixed at import, so XLA counts in a KERAS_BACKEND=jax subprocess
    (about 4 s, mostly importing jax), given each model's architecture as JSON.

    Without padding, bias and elementwise layers the counts agree exactly. With them XLA counts
    less: it skips the kernel taps that fall into 'same' padding (here (47/48)^2 of the taps
    are real) and costs bias adds, BN and relu its own way: 3% less on the small model, so 10%
    is the tolerance.
    """
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="valid", use_bias=False)(inputs)  # (14, 14, 8)
    x = keras.layers.Flatten()(x)
    exact = keras.Model(inputs, keras.layers.Dense(10, use_bias=False)(x))
    small = small_conv_dense_model()
    paths = {"exact": tmp_path / "exact.json", "small": tmp_path / "small.json"}
    paths["exact"].write_text(exact.to_json())
    paths["small"].write_text(small.to_json())

    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", XLA_COUNT, *map(str, paths.values())], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    xla = {name: json.loads(done.stdout.strip().splitlines()[-1])[str(p)] for name, p in paths.items()}

    assert forward_flops(exact) == 2 * 14 * 14 * 8 * 27 + 2 * 1568 * 10 == xla["exact"]
    assert forward_flops(small) == pytest.approx(xla["small"], rel=0.10)
