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
        k, n_fit = self.value, min(self.options["fit_rows"], len(cloud.z))  # at most (all if fewer)
        if k > n_fit:
            raise invalid(self.key(), k, f"must be <= the {n_fit} rows fitted to "
                          f"(min of {self.key('fit_rows')} and the {len(cloud.z)} training vectors)")
        self.rows_ = reference_rows(rng, len(cloud.z), n_fit)  # sorted: a memory map is read front to back
        self._adopt(self._em(np.asarray(cloud.z[self.rows_], dtype=np.float64), k, rng))

    def _em(self, z: np.ndarray, k: int, rng: np.random.Generator):
        """scikit-learn's EM fit of ``k`` components to ``z`` (n, d), seeded from ``rng``; warns,
        naming the param to raise, when it stops before converging."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture as SkGaussianMixture

        gmm = SkGaussianMixture(n_components=k, covariance_type="full", max_iter=self.options["max_iter"],
                                random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # ours below names the param to change
            gmm.fit(z)
        if not gmm.converged_:
            warnings.warn(f"{self.name}: the mixture with {k} components did not converge in "
                          f"{self.options['max_iter']} EM iterations; raise {self.key('max_iter')}", stacklevel=4)
        return gmm

    def _adopt(self, gmm) -> None:
        """Keep a fitted scikit-learn mixture as this sampler's density."""
        self.converged_ = bool(gmm.converged_)
        self._gmm = gmm
        self.weights_ = gmm.weights_ / gmm.weights_.sum()  # exactly 1 for rng.choice
        self.means_ = gmm.means_
        self.covariances_ = gmm.covariances_
        self._cholesky = np.linalg.cholesky(self.covariances_)  # (k, d, d), lower: L @ L.T = covariance

    def fit_report(self) -> dict:
        return {"converged": self.converged_, "components": len(self.weights_)}

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k = len(self.weights_)
        component = rng.choice(k, size=n, p=self.weights_)
        eps = rng.standard_normal((n, self.means_.shape[1]))
        z = np.empty_like(eps)
        for c in range(k):  # per component: never a (n, d, d) stack of factors
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


class ChosenMixture(GaussianMixture):
    """A Gaussian mixture whose number of components is chosen on held-aside likelihood.

    The fitted rows are split (seeded) into ``validation_rows`` held aside (at most a quarter of
    them) and the rest, which mixtures are fitted to. k doubles (1, 2, 4, ...) while each doubling raises the held-aside
    log-likelihood by more than ``standard_errors`` standard errors (``k_max`` is the last one
    tried where the next doubling would pass it); then the
    smallest k that scores within that margin of the best one tried is found by bisection. So
    it keeps the fewest components that the held-aside vectors cannot tell from the best (the
    "one standard error" rule), and fits large k only when they help.

    Held-aside likelihood rather than BIC: BIC's penalty (log n per parameter, and a
    full-covariance component has d + d(d+1)/2 of them: 33,152 in 256-D) picks k = 2 on the
    default latents, whose held-out likelihood still rises to k = 4-6, while the held-aside
    score measures what a sampler needs, a density of new vectors. scikit-learn's
    ``BayesianGaussianMixture`` (k_max = 10) took longer than the whole search there, kept every
    component, and scored 60 nats per vector below the k = 4 mixture.

    Attributes
    ----------
    search_ : dict of int -> float
        Each tried k and its held-aside mean log-likelihood (nats per vector), in search order.
    """

    kind = "mixture_chosen"
    param = "k_max"
    description = "Gaussian mixture, k chosen on held-aside likelihood"
    defaults: ClassVar[dict[str, int | float]] = {"fit_rows": 50_000, "max_iter": 100, "validation_rows": 2_000,
                                                  "standard_errors": 2.0}

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        n_fit = min(self.options["fit_rows"], len(cloud.z))
        n_val = min(self.options["validation_rows"], n_fit // 4)  # at most: small datasets keep 3/4 to fit
        if n_val < 2:
            raise invalid(self.key("fit_rows"), self.options["fit_rows"], f"leaves {n_fit} rows (with the "
                          f"{len(cloud.z)} training vectors): at least 8 are needed to hold 2 aside for choosing k")
        self.rows_ = reference_rows(rng, len(cloud.z), n_fit)
        z = np.asarray(cloud.z[self.rows_], dtype=np.float64)
        held = np.zeros(len(z), dtype=bool)
        held[rng.choice(len(z), size=n_val, replace=False)] = True
        fits, scores = {}, {}  # k -> fitted mixture, k -> per-row held-aside log-likelihood

        def tried(k: int) -> np.ndarray:
            if k not in fits:
                fits[k] = self._em(z[~held], k, rng)
                scores[k] = fits[k].score_samples(z[held])
            return scores[k]

        def worse(a: int, b: int) -> bool:  # does k = a score significantly below k = b?
            diff = tried(b) - tried(a)
            return diff.mean() > self.options["standard_errors"] * diff.std(ddof=1) / np.sqrt(len(diff))

        k_max = min(self.value, int((~held).sum()))
        k = 1
        while 2 * k <= k_max and worse(k, 2 * k):
            k *= 2
        tried(min(2 * k, k_max))  # the doubling that did not help (or k_max itself, or k = 1 alone)
        best = max(scores, key=lambda j: scores[j].mean())
        low, high = 0, best  # k = low is significantly worse than the best (0: no mixture), k = high is not
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if worse(mid, best) else (low, mid)
        self.search_ = {j: float(v.mean()) for j, v in scores.items()}
        self._adopt(fits[high])

    @property
    def label(self) -> str:
        chosen = f", chose k = {len(self.weights_)}" if hasattr(self, "weights_") else ""
        return f"{self.description}, {self.param} = {self.value:g}{chosen}"
