"""Frechet Inception Distance (FID) of decoded faces, only with InceptionV3 weights already cached.

FID (Heusel et al. 2017) is the Frechet distance between normals fitted to the
2048-dimensional pooled InceptionV3 features of real and of generated images. Its
numbers mean something only with the ImageNet weights; this project never downloads
them (the pipeline must run offline), so :func:`cached_inception_weights` looks for
the file where ``keras.applications.InceptionV3(weights="imagenet")`` would have left
it, and the caller skips FID when there is none. Random weights (``weights=None``) give
a working but meaningless feature map, which the tests use.

Backend-agnostic Keras 3; Keras is imported only when features are computed, so looking
for the weights stays cheap.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from latentspace.quality import frechet_distance_of

# the file name keras.applications.inception_v3 caches its no-top ImageNet weights under
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def keras_cache_dir() -> Path:
    """Where ``keras.utils.get_file`` keeps downloaded models: ``<keras home>/models``.

    Keras home is ``$KERAS_HOME``, else ``~/.keras``, else ``/tmp/.keras`` when the home
    folder is not writable; ``get_file`` also falls back to ``/tmp/.keras`` when Keras
    home itself is not writable. Read from the environment at call time.
    """
    if "KERAS_HOME" in os.environ:
        home = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = "/tmp/.keras"
    return Path(home) / "models"


def weights_path() -> Path:
    """Where the no-top InceptionV3 ImageNet weights file is (or would be) cached."""
    return keras_cache_dir() / WEIGHTS_FILE


def cached_inception_weights() -> Path | None:
    """The cached no-top InceptionV3 ImageNet weights file, or None when it was never downloaded.

    Only the file's presence is checked (not its MD5); a damaged file fails when loaded.
    """
    path = weights_path()
    return path if path.is_file() and path.stat().st_size > 0 else None


def inception_model(*, weights, image_size: int = 299):
    """InceptionV3 without its classifier, average-pooled: (n, image_size, image_size, 3) -> (n, 2048).

    Parameters
    ----------
    weights : str, Path or None
        The no-top weights file (see :func:`cached_inception_weights`), or None for random weights.
    image_size : int
        Input side in pixels, at least 75 (InceptionV3's smallest input).
    """
    import keras

    if isinstance(image_size, bool) or int(image_size) != image_size or image_size < 75:
        raise ValueError(f"image_size = {image_size!r}: InceptionV3 needs an integer of at least 75")
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"weights = {weights}: not a file (give the cached no-top weights or None)")
    return keras.applications.InceptionV3(include_top=False, pooling="avg",
                                          weights=None if weights is None else str(weights),
                                          input_shape=(int(image_size), int(image_size), 3))


def inception_features(images: np.ndarray, *, weights, image_size: int = 299, batch_size: int = 64,
                       progress=None) -> np.ndarray:
    """Pooled InceptionV3 features of ``images``.

    Parameters
    ----------
    images : ndarray of shape (n, S, S, 3)
        Float in [0, 1] (e.g. decoded faces).
    weights : str, Path or None
        The no-top weights file, or None for random weights (tests only).
    image_size : int
        Side the images are resized to (bilinear) before the network; at least 75.
    batch_size : int
    progress : callable or None
        Called with the number of images done after each batch (e.g. ``tqdm.update``).

    Returns
    -------
    features : ndarray of shape (n, 2048), float64
    """
    model = _shared_model(None if weights is None else str(weights), image_size)
    return _features(model, images, image_size=image_size, batch_size=batch_size, progress=progress)


def fid(real_images: np.ndarray, fake_images: np.ndarray, *, weights, image_size: int = 299,
        batch_size: int = 64) -> float:
    """Frechet Inception Distance between two sets of images (n_real, S, S, 3) and (n_fake, S, S, 3).

    Both are float in [0, 1] with at least 2 images each; one network computes both
    sets' features. See :func:`inception_features` for the options. To compare several
    fake sets with one real set, call :func:`inception_features` once per set and
    :func:`latentspace.quality.frechet_distance_of` on the features instead.
    """
    model = _shared_model(None if weights is None else str(weights), image_size)
    real = _features(model, real_images, image_size=image_size, batch_size=batch_size)
    fake = _features(model, fake_images, image_size=image_size, batch_size=batch_size)
    return frechet_distance_of(real, fake)


@functools.lru_cache(maxsize=1)
def _shared_model(weights: str | None, image_size: int):
    """One network per (weights, image_size): building it and loading 90 MB of weights takes
    seconds, and a caller compares many sample sets with one real set."""
    return inception_model(weights=weights, image_size=image_size)


def _features(model, images, *, image_size: int, batch_size: int, progress=None) -> np.ndarray:
    """Features of ``images`` batch by batch: resized, scaled to [-1, 1] as InceptionV3 expects."""
    import keras

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images: expected shape (n >= 1, S, S, 3), got {images.shape}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size = {batch_size!r}: must be an integer >= 1")
    out = []
    for start in range(0, len(images), batch_size):
        # preprocess_input's "tf" mode maps [0, 255] to [-1, 1]; it is affine, so scaling
        # before the (weights summing to 1) bilinear resize gives the same input
        x = keras.applications.inception_v3.preprocess_input(
            images[start:start + batch_size].astype(np.float32) * np.float32(255.0))
        x = keras.ops.image.resize(x, (image_size, image_size), interpolation="bilinear",
                                   data_format="channels_last")
        # predict_on_batch runs a compiled graph: on CPU about 6x faster than an eager call
        out.append(np.asarray(model.predict_on_batch(x), dtype=np.float64))
        if progress is not None:
            progress(len(out[-1]))
    return np.concatenate(out)
