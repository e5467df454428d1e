"""Each component normal with its own mean and spread, independently of the others."""

from __future__ import annotations

import numpy as np

from latentspace.samplers.base import LatentCloud, Sampler


class IndependentGaussian(Sampler):
    """Component j ~ N(mean_j, (scale * std_j)^2), independent of the other components.

    The normal counterpart of part VII's intervals: each component's histogram is
    Gaussian-like (part II), but drawing the components independently ignores the
    correlations of part III, which is what :class:`MultivariateNormal` adds.
    ``scale`` widens (> 1) or narrows (< 1) every component's spread.
    """

    kind = "gaussian"
    param = "scale"
    description = "independent normal per component"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        self.mean = np.asarray(cloud.mean, dtype=np.float64)
        self.std = np.asarray(cloud.std, dtype=np.float64)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mean + rng.standard_normal((n, len(self.mean))) * (self.value * self.std)

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """Sum over components of each one's normal log density: shape (n,), float64."""
        from scipy.stats import norm

        return norm.logpdf(np.asarray(z, dtype=np.float64), self.mean, self.value * self.std).sum(axis=1)
