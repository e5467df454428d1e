"""FID plumbing on a randomly initialised InceptionV3 at its smallest input (75 px), and the
finder of cached ImageNet weights. Random weights make the numbers meaningless, but not
the shapes, the batching, the preprocessing or fid(x, x) = 0."""

import keras
import numpy as np
import pytest

from latentspace import fid


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    noisy = rng.uniform(size=(4, 16, 16, 3)).astype(np.float32)
    # smooth, bright, reddish faces-to-be: clearly unlike uniform noise
    ramp = np.linspace(0.6, 1.0, 16, dtype=np.float32)[None, :, None, None]
    smooth = np.broadcast_to(ramp * np.array([1.0, 0.7, 0.5], np.float32), (4, 16, 16, 3)).copy()
    smooth += rng.uniform(0, 0.05, size=smooth.shape).astype(np.float32)
    return noisy, np.clip(smooth, 0, 1)


def test_features_have_inception_shape_and_do_not_depend_on_batching(images):
    noisy, smooth = images
    done = []
    both = fid.inception_features(np.concatenate([noisy, smooth]), weights=None, image_size=75, batch_size=3,
                                  progress=done.append)
    assert both.shape == (8, 2048) and both.dtype == np.float64 and np.isfinite(both).all()
    assert done == [3, 3, 2]
    alone = fid.inception_features(noisy, weights=None, image_size=75, batch_size=4)  # the same (cached) network
    np.testing.assert_allclose(alone, both[:4], rtol=1e-4, atol=1e-6 * np.abs(both).max())


def test_fid_is_zero_for_one_set_and_positive_for_different_sets(images):
    noisy, smooth = images
    different = fid.fid(noisy, smooth, weights=None, image_size=75, batch_size=4)
    same = fid.fid(noisy, noisy.copy(), weights=None, image_size=75, batch_size=4)
    assert different > 0
    assert 0 <= same <= 1e-3 * different


def test_images_are_resized_and_scaled_to_minus_one_one():
    # a stand-in network: accepts only 80 x 80 inputs and returns each channel's mean
    probe = keras.Sequential([keras.Input((80, 80, 3)), keras.layers.GlobalAveragePooling2D()])
    x = np.zeros((3, 8, 8, 3), np.float32)
    x[1], x[2, ..., 0] = 1.0, 0.5
    done = []
    out = fid._features(probe, x, image_size=80, batch_size=2, progress=done.append)
    assert done == [2, 1]
    np.testing.assert_allclose(out, [[-1, -1, -1], [1, 1, 1], [0, -1, -1]], atol=1e-6)


def test_bad_arguments_are_rejected_before_building_a_network(tmp_path):
    x = np.zeros((2, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="at least 75"):
        fid.inception_features(x, weights=None, image_size=74)
    with pytest.raises(ValueError, match="not a file"):
        fid.inception_features(x, weights=tmp_path / "missing.h5", image_size=75)
    with pytest.raises(ValueError, match=r"\(n >= 1, S, S, 3\)"):
        fid._features(None, x[..., :1], image_size=75, batch_size=2)


def test_cached_weights_are_found_only_where_keras_keeps_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert fid.keras_cache_dir() == tmp_path / "models"
    assert fid.weights_path() == tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert fid.cached_inception_weights() is None
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5").write_bytes(b"with top")
    assert fid.cached_inception_weights() is None  # the classifier's weights are not the no-top file
    weights = tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    weights.write_bytes(b"stand-in")
    assert fid.cached_inception_weights() == weights
