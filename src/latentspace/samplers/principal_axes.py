"""Sampling in the aligned (principal-axis) frame with truncated normal coordinates."""

from __future__ import annotations

import numpy as np

from latentspace.samplers.base import LatentCloud, Sampler, principal_frame


class PrincipalAxesSampler(Sampler):
    """Independent truncated normal coordinates along the cloud's principal axes.

    Parts IX-X of the series: after the main-axis transformation the coordinates
    ``u = (z - mean) @ axes`` are uncorrelated, so they can be drawn independently.
    Each ``u_k ~ N(0, variances_k)`` truncated to ``|u_k| <= truncation * sqrt(variances_k)``
    (``truncation`` in standard deviations: small values keep to the core of the cloud,
    the "truncation trick"), then ``z = mean + u @ axes.T``. Axes with zero variance
    give ``u_k = 0``.
    """

    kind = "principal_axes"
    param = "truncation"
    description = "truncated normal along the principal axes"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        self.mean, self.axes, self.sd = principal_frame(cloud)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        from scipy.stats import truncnorm  # imported here: scipy.stats is slow to import

        t = self.value
        u = truncnorm.rvs(-t, t, size=(n, len(self.mean)), random_state=rng) * self.sd
        return self.mean + u @ self.axes.T
