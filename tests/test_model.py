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
