"""A Gaussian mixture fitted to the training vectors after training (ex-post density estimation)."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np

from latentspace.neighbours import reference_rows
from latentspace.params import invalid
from latentspace.samplers.base import LatentCloud, Sampler


class GaussianMixture(Sampler):
    """A k-component Gaussian mixture with full covariances, fitted to the training vectors.

    Ghosh et al. 2020 (RAE paper) make a deterministic autoencoder generative by fitting
    a density to its latent vectors after training ("ex-post density estimation"), with
    a 10-component GMM as their strongest choice; k = 1 is the multivariate normal of
    part VIII. Where the cloud is not one ellipsoid, the mixture follows its lumps.

    Fitted with scikit-learn on ``min(fit_rows, n_vectors)`` rows drawn without
    replacement; drawn with our own generator (component ``c ~ weights``, then
    ``means_[c] + cholesky(covariances_[c]) @ eps``) so the vectors depend on the seed only.

    Attributes
    ----------
    rows_ : ndarray of shape (n_fit,), int64
        The training rows fitted to, increasing.
    weights_ : ndarray of shape (k,)
    means_ : ndarray of shape (k, latent_dim)
    covariances_ : ndarray of shape (k, latent_dim, latent_dim)
    converged_ : bool
    """

    kind = "mixture"
    param = "k"
    description = "Gaussian mixture, full covariances"
    value_type = int
    defaults: ClassVar[dict[str, int]] = {"fit_rows": 50_000, "max_iter": 100}

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture as SkGaussianMixture

        k, n_fit = self.value, min(self.options["fit_rows"], len(cloud.z))  # at most (all if fewer)
        if k > n_fit:
            raise invalid(self.key(), k, f"must be <= the {n_fit} rows fitted to "
                          f"(min of sample.mixture.fit_rows and the {len(cloud.z)} training vectors)")
        self.rows_ = reference_rows(rng, len(cloud.z), n_fit)  # sorted: a memory map is read front to back
        z = np.asarray(cloud.z[self.rows_], dtype=np.float64)
        gmm = SkGaussianMixture(n_components=k, covariance_type="full", max_iter=self.options["max_iter"],
                                random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # ours below names the param to change
            gmm.fit(z)
        self.converged_ = bool(gmm.converged_)
        if not self.converged_:
            warnings.warn(f"{self.name}: the mixture did not converge in {self.options['max_iter']} EM iterations; "
                          f"raise sample.mixture.max_iter", stacklevel=3)
        self._gmm = gmm
        self.weights_ = gmm.weights_ / gmm.weights_.sum()  # exactly 1 for rng.choice
        self.means_ = gmm.means_
        self.covariances_ = gmm.covariances_
        self._cholesky = np.linalg.cholesky(self.covariances_)  # (k, d, d), lower: L @ L.T = covariance

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        component = rng.choice(self.value, size=n, p=self.weights_)
        eps = rng.standard_normal((n, self.means_.shape[1]))
        z = np.empty_like(eps)
        for c in range(self.value):  # per component: never a (n, d, d) stack of factors
            rows = component == c
            z[rows] = self.means_[c] + eps[rows] @ self._cholesky[c].T
        return z

    def log_likelihood(self, z: np.ndarray, chunk_rows: int = 4096) -> np.ndarray:
        """Log density of each vector under the fitted mixture (scikit-learn's ``score_samples``).

        Compared between the vectors fitted to and held-out ones, it shows a mixture that has
        learnt its training vectors rather than their distribution: with many components in
        many dimensions the fitted vectors score far higher.

        Parameters
        ----------
        z : ndarray of shape (n, latent_dim)
            A memory map is read ``chunk_rows`` rows at a time.

        Returns
        -------
        log_density : ndarray of shape (n,), float64
        """
        if not hasattr(self, "_gmm"):
            raise RuntimeError(f"{self.name}: fit the sampler before scoring vectors")
        return np.concatenate([self._gmm.score_samples(np.asarray(z[start:start + chunk_rows], dtype=np.float64))
                               for start in range(0, len(z), chunk_rows)] or [np.zeros(0)])
