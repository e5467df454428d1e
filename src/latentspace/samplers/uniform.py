"""Every component independent and uniform on [-b, b]: the first recipe of the series."""

from __future__ import annotations

import numpy as np

from latentspace.samplers.base import LatentCloud, Sampler


def uniform_box(rng: np.random.Generator, n: int, latent_dim: int, b: float) -> np.ndarray:
    """Vectors with every component independent and uniform on ``[-b, b]``.

    Returns
    -------
    z : ndarray of shape (n, latent_dim), float32
    """
    if b <= 0:
        raise ValueError(f"uniform sampler: b = {b}: must be > 0")
    return rng.uniform(-b, b, size=(n, latent_dim)).astype(np.float32)


class UniformBox(Sampler):
    """Components iid uniform on ``[-b, b]``, blind to the cloud except for its dimension.

    Parts II and IV of the series: such vectors have the wrong lengths unless
    1 <= b <= 2 (a uniform vector's radius is about ``b * sqrt(latent_dim / 3)``), and the
    box is centred on the origin, which sits at the border of the real cloud.
    """

    kind = "uniform"
    param = "b"
    description = "uniform [-b, b]"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        pass  # only the dimension, which fit records

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return uniform_box(rng, n, self.latent_dim, self.value)
