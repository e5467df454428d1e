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
