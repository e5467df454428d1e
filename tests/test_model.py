"""The autoencoder's layer structure and shapes, and its save/load round trip."""

import keras
import numpy as np
import pytest

from latentspace.model import ArchitectureConfig, build_autoencoder

CFG = ArchitectureConfig(image_size=32, latent_dim=256, filters=(64, 64, 128, 128), kernel_sizes=(3, 3, 3, 3),
                         strides=(2, 2, 2, 2), batch_norm=True, activation="leaky_relu")


def test_series_layer_structure_and_shapes(tmp_path):
    model = build_autoencoder(CFG)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    convs = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    deconvs = [layer for layer in decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [c.filters for c in convs] == [64, 64, 128, 128]
    assert [d.filters for d in deconvs] == [128, 128, 64, 64, 3]  # mirrored, then the RGB output
    assert encoder.output_shape == (None, 256)
    assert decoder.input_shape == (None, 256) and decoder.output_shape == (None, 32, 32, 3)

    x = np.random.default_rng(0).random((5, 32, 32, 3), dtype=np.float32)
    z = np.asarray(encoder.predict_on_batch(x))
    y = np.asarray(model.predict_on_batch(x))
    assert z.shape == (5, 256) and y.shape == (5, 32, 32, 3)
    assert y.min() >= 0 and y.max() <= 1  # sigmoid output

    path = tmp_path / "ae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.get_layer("encoder").predict_on_batch(x)), z, atol=1e-5)


def test_architecture_config_rejects_inconsistent_layers():
    with pytest.raises(ValueError, match="same length"):
        ArchitectureConfig(32, 8, (4, 4), (3,), (2, 2), False, "relu")
    with pytest.raises(ValueError, match="divisible"):
        ArchitectureConfig(36, 8, (4, 4, 4), (3, 3, 3), (2, 2, 2), False, "relu")


def _fit_small(seed):
    from latentspace.training import UInt8Batches, compile_autoencoder

    images = np.random.default_rng(0).integers(0, 256, (48, 16, 16, 3), dtype=np.uint8)
    keras.utils.set_random_seed(seed)
    cfg = ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), True, "relu")
    model = build_autoencoder(cfg)
    compile_autoencoder(model, optimizer="adam", learning_rate=1e-3, loss="mse")
    batches = UInt8Batches(images, np.arange(48), 16, seed=seed, threads=2)
    model.fit(batches, epochs=2, verbose=0)
    return model.get_weights()


def test_training_is_reproducible_for_a_seed():
    a, b, c = _fit_small(1), _fit_small(1), _fit_small(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_cosine_schedule_decays_the_learning_rate_to_zero_over_the_run():
    from latentspace.training import compile_autoencoder

    model = build_autoencoder(ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), False, "relu"))
    compile_autoencoder(model, optimizer="adam", learning_rate=0.01, loss="mse", lr_schedule="cosine", total_steps=40)
    model.optimizer.build(model.trainable_variables)
    rates = []
    for step in (0, 10, 20, 40):
        model.optimizer.iterations.assign(step)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    # 0.01 * (1 + cos(pi * step / 40)) / 2
    np.testing.assert_allclose(rates, [0.01, 0.01 * (1 + np.cos(np.pi / 4)) / 2, 0.005, 0.0], atol=1e-8)
    compile_autoencoder(model, optimizer="adam", learning_rate=0.01, loss="mse")
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="total_steps"):
        compile_autoencoder(model, optimizer="adam", learning_rate=0.01, loss="mse", lr_schedule="cosine")
    with pytest.raises(ValueError, match="allowed"):
        compile_autoencoder(model, optimizer="adam", learning_rate=0.01, loss="mse", lr_schedule="step")


def test_uint8_batches_serve_every_row_once_per_epoch_as_floats():
    from latentspace.training import UInt8Batches

    images = np.arange(10 * 2 * 2 * 3, dtype=np.uint8).reshape(10, 2, 2, 3)
    rows = np.array([0, 2, 3, 5, 7, 9, 8])
    ds = UInt8Batches(images, rows, 3, seed=0)
    orders = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        ds.on_epoch_end()  # Keras' own hooks, called at other moments than epochs start, change nothing
        ds.on_epoch_begin()
        served = np.concatenate([ds[i][0] for i in range(len(ds))])
        assert served.dtype == np.float32 and len(ds) == 3
        x, y = ds[0]
        assert x is y or np.array_equal(x, y)  # target = input
        # every row exactly once, values scaled to [0, 1]
        found = sorted(int(np.argmin(np.abs(images.astype(np.float32) / 255 - s).sum(axis=(1, 2, 3)))) for s in served)
        assert found == sorted(rows.tolist())
        orders.append(ds.order.copy())
        np.testing.assert_array_equal(ds.order, np.random.default_rng([0, epoch]).permutation(rows))
    assert not np.array_equal(orders[0], orders[1])  # reshuffled between epochs


def _batch_norms(model):
    return [layer for part in ("encoder", "decoder") for layer in model.get_layer(part).layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def test_batch_norm_recalibration_sets_the_moving_statistics_to_the_data_statistics():
    """Against a naive reference: the first BatchNorm's input for every image, through a sub-model."""
    from latentspace.training import recalibrate_batch_norm, to_model_input

    images = np.random.default_rng(3).integers(0, 256, (50, 16, 16, 3), dtype=np.uint8)
    rows = np.arange(5, 45)  # batches of 16, 16 and 8: unequal weights
    model = build_autoencoder(ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), True, "relu", dropout=0.3))
    norms = _batch_norms(model)
    trainable = [np.array(w) for w in model.trainable_weights]

    assert recalibrate_batch_norm(model, images, rows, batch_size=16) == len(norms) == 4  # 2 encoder, 2 decoder
    first = norms[0]
    inputs = keras.Model(model.get_layer("encoder").input, first.input).predict_on_batch(to_model_input(images[rows]))
    channels = inputs.reshape(-1, inputs.shape[-1]).astype(np.float64)
    np.testing.assert_allclose(np.array(first.moving_mean), channels.mean(axis=0), rtol=1e-4, atol=1e-6)
    batches = [inputs[start:start + 16] for start in (0, 16, 32)]  # 16, 16 and 8 images
    expected_variance = sum(len(b) * b.reshape(-1, b.shape[-1]).var(axis=0) for b in batches) / 40
    np.testing.assert_allclose(np.array(first.moving_variance), expected_variance, rtol=1e-4)
    # only the statistics moved; momentum and dropout are as they were
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(trainable, model.trainable_weights))
    assert all(layer.momentum == 0.99 for layer in norms)
    assert [layer.rate for layer in model.get_layer("encoder").layers if isinstance(layer, keras.layers.Dropout)][0] == 0.3


def test_train_autoencoder_recalibrates_on_a_seeded_subset_of_the_training_rows():
    from latentspace.training import recalibrate_batch_norm, train_autoencoder

    images = np.random.default_rng(0).integers(0, 256, (60, 16, 16, 3), dtype=np.uint8)
    cfg = ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), True, "relu")
    fit = dict(seed=4, epochs=1, batch_size=16, optimizer="adam", learning_rate=1e-3, loss="mse")
    recalibrated, _ = train_autoencoder(cfg, images, np.arange(48), np.arange(48, 60), bn_recalibration_images=32, **fit)
    plain, _ = train_autoencoder(cfg, images, np.arange(48), np.arange(48, 60), **fit)
    assert not np.allclose(np.array(_batch_norms(plain)[0].moving_mean), np.array(_batch_norms(recalibrated)[0].moving_mean))
    rows = np.sort(np.random.default_rng(4).choice(np.arange(48), size=32, replace=False))
    recalibrate_batch_norm(plain, images, rows, 16)
    for a, b in zip(_batch_norms(plain), _batch_norms(recalibrated)):
        np.testing.assert_allclose(np.array(a.moving_mean), np.array(b.moving_mean), rtol=1e-6)
        np.testing.assert_allclose(np.array(a.moving_variance), np.array(b.moving_variance), rtol=1e-6)
