"""FusedBatchNormalization against Keras' own BatchNormalization, the naive reference here.

Under the TensorFlow backend (the one these tests run on) the fused kernel computes; every
check compares it with ``keras.layers.BatchNormalization`` given the same weights and inputs.
"""

import keras
import numpy as np
import pytest

from latentspace.batch_norm import FusedBatchNormalization
from latentspace.model import ArchitectureConfig, build_autoencoder

def _pair(shape, **kwargs):
    """A Keras and a fused layer built for ``shape`` with the same random gamma and beta."""
    keras_bn, fused_bn = keras.layers.BatchNormalization(**kwargs), FusedBatchNormalization(**kwargs)
    keras_bn.build(shape)
    fused_bn.build(shape)
    rng = np.random.default_rng(0)
    channels = shape[kwargs.get("axis", -1)]
    gamma, beta = rng.normal(1.0, 0.5, channels), rng.normal(0.0, 0.5, channels)
    for layer in (keras_bn, fused_bn):
        if layer.scale:
            layer.gamma.assign(gamma.astype("float32"))
        if layer.center:
            layer.beta.assign(beta.astype("float32"))
    return keras_bn, fused_bn


def _images(shape, seed=2):
    # A large mean and spread per channel: a one-pass variance formula would lose digits here.
    rng = np.random.default_rng(seed)
    return (rng.normal(3.0, 2.0, shape) * rng.uniform(0.5, 4.0, shape[-1])).astype("float32")


def _graph_ops(layer, x, training):
    import tensorflow as tf

    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(tf.constant(x)).graph
    return {op.type for op in graph.get_operations()}


def test_the_fused_kernel_runs_for_image_batches_under_tensorflow():
    """So the comparisons below compare two computations, not Keras' layer with itself."""
    keras_bn, fused_bn = _pair((8, 6, 6, 5))
    assert keras.backend.backend() == "tensorflow"
    x = _images((8, 6, 6, 5))
    assert fused_bn.fused(x)
    for training in (True, False):
        assert "FusedBatchNormV3" in _graph_ops(fused_bn, x, training)
        assert "FusedBatchNormV3" not in _graph_ops(keras_bn, x, training)


@pytest.mark.parametrize("kwargs", [{}, {"center": False}, {"scale": False}, {"epsilon": 1e-2, "momentum": 0.5}])
def test_training_outputs_and_moving_statistics_match_keras(kwargs):
    keras_bn, fused_bn = _pair((16, 7, 7, 5), **kwargs)
    for step in range(3):  # the moving averages compound over calls
        x = _images((16, 7, 7, 5), seed=step)
        expected, got = keras_bn(x, training=True), fused_bn(x, training=True)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected),
                                   atol=2e-5, rtol=1e-5)
    np.testing.assert_allclose(fused_bn.moving_mean.numpy(), keras_bn.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    # Keras keeps the biased variance (divided by n, not n - 1) in its moving average
    np.testing.assert_allclose(fused_bn.moving_variance.numpy(), keras_bn.moving_variance.numpy(), rtol=1e-5)
    moved = fused_bn.moving_variance.numpy()
    assert not np.allclose(moved, 1.0)  # the statistics did move


def test_inference_uses_the_moving_statistics_like_keras():
    keras_bn, fused_bn = _pair((16, 4, 4, 3))
    for layer in (keras_bn, fused_bn):
        layer.moving_mean.assign([0.5, -1.0, 2.0])
        layer.moving_variance.assign([0.25, 4.0, 9.0])
    x = _images((6, 4, 4, 3))
    for training in (False, None):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(fused_bn(x, training=training)),
                                   keras.ops.convert_to_numpy(keras_bn(x, training=training)), atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(fused_bn.moving_mean.numpy(), [0.5, -1.0, 2.0])  # inference changes nothing


def _tiny_autoencoder(norm_cls):
    keras.utils.set_random_seed(3)
    cfg = ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), True, "leaky_relu")
    model = build_autoencoder(cfg, norm_cls)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def test_gradients_match_keras_through_a_whole_autoencoder():
    """Same initial weights, same batches: plain SGD steps move every weight (gamma and beta
    included) alike, so the fused kernel's gradient is Keras' up to float32 round-off."""
    keras_model = _tiny_autoencoder(keras.layers.BatchNormalization)
    fused_model = _tiny_autoencoder(FusedBatchNormalization)
    fused_model.set_weights(keras_model.get_weights())
    x = np.random.default_rng(4).random((3, 12, 16, 16, 3), dtype=np.float32)
    start = [w.copy() for w in keras_model.get_weights()]
    for batch in x:
        keras_loss = keras_model.train_on_batch(batch, batch)
        fused_loss = fused_model.train_on_batch(batch, batch)
        assert fused_loss == pytest.approx(keras_loss, rel=1e-5)
    for before, a, b in zip(start, keras_model.get_weights(), fused_model.get_weights()):
        step = np.abs(a - before).max()
        np.testing.assert_allclose(b, a, atol=1e-4 * max(step, 1e-3) + 1e-6)
    assert sum(np.abs(a - before).max() > 0 for before, a in zip(start, keras_model.get_weights())) >= 10
    np.testing.assert_allclose(fused_model.predict_on_batch(x[0]), keras_model.predict_on_batch(x[0]), atol=1e-5)


def test_a_wrong_variance_correction_would_be_caught():
    """The check above is sharp enough: Bessel's correction left in (n - 1) moves the averages."""
    keras_bn, fused_bn = _pair((4, 2, 2, 3))  # n = 16 values per channel
    x = _images((4, 2, 2, 3))
    keras_bn(x, training=True)
    fused_bn(x, training=True)
    unbiased = 0.99 + 0.01 * np.var(x.reshape(-1, 3), axis=0, ddof=1)
    assert not np.allclose(keras_bn.moving_variance.numpy(), unbiased, rtol=1e-5)
    np.testing.assert_allclose(fused_bn.moving_variance.numpy(), keras_bn.moving_variance.numpy(), rtol=1e-5)


@pytest.mark.parametrize("case", ["vectors", "channels_first", "synchronized", "renorm", "tiny_epsilon", "mask",
                                  "frozen"])
def test_where_the_kernel_does_not_apply_it_is_exactly_keras(case):
    shape, kwargs, mask = (8, 4, 4, 3), {}, None
    if case == "vectors":
        shape = (8, 5)
    elif case == "channels_first":
        kwargs = {"axis": 1}
    elif case == "synchronized":
        kwargs = {"synchronized": True}
    elif case == "renorm":
        kwargs = {"renorm": True}
    elif case == "tiny_epsilon":
        kwargs = {"epsilon": 1e-6}
    keras_bn, fused_bn = _pair(shape, **kwargs)
    x = _images(shape)
    if case == "frozen":
        keras_bn.trainable = fused_bn.trainable = False
    if case == "mask":
        shape, x = (8, 6, 3), _images((8, 6, 3))
        keras_bn, fused_bn = _pair(shape)
        mask = np.random.default_rng(5).random((8, 6)) > 0.3
    assert not fused_bn.fused(x, mask)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(fused_bn(x, training=True, mask=mask)),
                                  keras.ops.convert_to_numpy(keras_bn(x, training=True, mask=mask)))
    np.testing.assert_array_equal(fused_bn.moving_variance.numpy(), keras_bn.moving_variance.numpy())


def test_mixed_precision_normalises_in_float32_and_returns_the_compute_dtype():
    keras_bn, fused_bn = _pair((8, 4, 4, 3), dtype="mixed_bfloat16")
    x = keras.ops.cast(_images((8, 4, 4, 3)), "bfloat16")
    got, expected = fused_bn(x, training=True), keras_bn(x, training=True)
    assert keras.backend.standardize_dtype(got.dtype) == "bfloat16"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(got, "float32")),
                               keras.ops.convert_to_numpy(keras.ops.cast(expected, "float32")), atol=2e-2)
    assert fused_bn.moving_mean.dtype == "float32"
    np.testing.assert_allclose(fused_bn.moving_mean.numpy(), keras_bn.moving_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_a_saved_model_loads_back_with_the_fused_layer_and_keras_config(tmp_path):
    keras_bn, fused_bn = _pair((8, 4, 4, 3), momentum=0.8, epsilon=2e-3)
    assert {**fused_bn.get_config(), "name": None} == {**keras_bn.get_config(), "name": None}
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, fused_bn(inputs))
    x = _images((8, 4, 4, 3))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    layer = loaded.layers[-1]
    assert type(layer) is FusedBatchNormalization
    assert layer.momentum == 0.8 and layer.epsilon == 2e-3
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
