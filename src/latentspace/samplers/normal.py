"""The multivariate normal with the cloud's mean and full covariance."""

from __future__ import annotations

import numpy as np

from latentspace.samplers.base import LatentCloud, Sampler, principal_frame


class MultivariateNormal(Sampler):
    """z ~ N(mean, scale^2 * Sigma) with the cloud's full covariance Sigma.

    Part VIII of the series (the cloud is approximately a multivariate normal, its 2-D
    projections tilted ellipses); also the "N(mu, Sigma)" ex-post density of Ghosh et
    al. 2020 (RAE paper). Drawn in the principal frame, where the coordinates are
    independent: ``z = mean + (eps * sqrt(variances)) @ axes.T * scale``, eps ~ N(0, I).
    """

    kind = "normal"
    param = "scale"
    description = "multivariate normal, full covariance"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        self.mean, self.axes, self.sd = principal_frame(cloud)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        eps = rng.standard_normal((n, len(self.mean)))
        return self.mean + (eps * self.sd) @ self.axes.T * self.value

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """Log density of N(mean, scale^2 Sigma) in the principal frame, where it is a product of
        independent normals: shape (n,), float64. Axes of variance 0 (fewer vectors than
        components) are left out, as scipy's ``allow_singular`` does: the density on its support."""
        keep = self.sd > 0
        sd = self.value * self.sd[keep]
        y = (np.asarray(z, dtype=np.float64) - self.mean) @ self.axes[:, keep]  # coordinates along the axes
        return -0.5 * np.sum((y / sd) ** 2, axis=1) - np.sum(np.log(sd)) - 0.5 * len(sd) * np.log(2 * np.pi)
