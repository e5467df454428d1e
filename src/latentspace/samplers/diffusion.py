"""A denoising diffusion model trained on the latent vectors: new vectors are denoised noise."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from latentspace.samplers.base import LatentCloud
from latentspace.samplers.network import NetworkSampler

BETA_MIN, BETA_MAX = 0.1, 20.0  # Ho et al.'s 1e-4 .. 0.02 over 1000 steps, as rates per unit of time
VARIANCE_FLOOR = 1e-6  # of the largest: a flat direction is not stretched by more than 1000


def noise_schedule(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The linear schedule of Ho et al. 2020, in its continuous form (Song et al. 2021, "VP SDE").

    Step ``t`` (0-based) ends at time ``s = (t + 1) / steps`` where the signal kept is
    ``alpha_bar = exp(-(BETA_MIN s + (BETA_MAX - BETA_MIN) s^2 / 2))``; ``beta_t = 1 - alpha_bar_t /
    alpha_bar_{t-1}``. For 1000 steps it is Ho et al.'s betas; for any other number it ends at the
    same ``alpha_bar = exp(-10.05) ~ 4e-5`` (noise only), so the swept ``steps`` changes how finely
    the chain is cut, not where it goes. Unlike the cosine schedule (Nichol & Dhariwal 2021), whose
    last betas reach its 0.999 clip at 100 steps, no ``1 - beta`` comes near 0: the reverse step
    divides by ``sqrt(1 - beta_t)`` (at least 0.9 at 100 steps, 0.4 at 10) and would otherwise
    multiply the first prediction's error some thirty-fold.

    Returns
    -------
    alpha_bar, beta : ndarray of shape (steps,), float64
    """
    s = np.arange(1, steps + 1) / steps
    alpha_bar = np.exp(-(BETA_MIN * s + 0.5 * (BETA_MAX - BETA_MIN) * s**2))
    beta = 1.0 - alpha_bar / np.concatenate([[1.0], alpha_bar[:-1]])
    return alpha_bar, beta


def whitening_of(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``whitening`` (d, d), float32, and ``colouring`` (d, d), float64: ``x @ whitening`` has identity covariance
    when ``x`` has ``covariance`` (variances below ``VARIANCE_FLOOR`` of the largest are raised
    to it), and ``(x @ whitening) @ colouring = x``."""
    variances, axes = np.linalg.eigh(covariance)
    variances = np.maximum(variances, VARIANCE_FLOOR * variances.max())
    return (axes / np.sqrt(variances)).astype(np.float32), (axes * np.sqrt(variances)).T


class LatentDiffusion(NetworkSampler):
    """A DDPM on the whitened latent vectors: noise denoised in ``steps`` ancestral steps.

    Ho et al. 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239).

    The diffusion runs on the standardised vectors whitened with the cloud's covariance
    (``w = x @ whitening_``): the latent cloud is strongly correlated, with directions a thousand
    times narrower than others, and a noise predictor that is slightly off in a narrow direction
    throws the drawn vectors far out of it. Whitened, every direction is as wide as the noise, the
    denoiser starts as the exact one of the fitted normal (:mod:`.diffusion_network`), and its
    errors shrink with the direction's width when the vectors are coloured back.

    Training noises ``w0`` to ``w_t = sqrt(alpha_bar_t) w0 + sqrt(1 - alpha_bar_t) eps`` at a
    uniform step ``t`` and teaches the residual MLP ``eps_theta`` to tell the noise ``eps``.
    Drawing starts from ``w ~ N(0, I)`` and, from ``t = steps - 1`` down to 0, takes
    ``w <- (w - beta_t / sqrt(1 - alpha_bar_t) eps_theta(w, t)) / sqrt(1 - beta_t) + sqrt(beta_t) z``
    (no noise at the last step): Ho et al.'s ``sigma_t^2 = beta_t``, exact for standard normal
    data, which the whitened vectors are to first order. Schedule: :func:`noise_schedule`. The
    model gives no tractable density, so :meth:`log_likelihood` is None.

    Attributes
    ----------
    alpha_bar_, beta_ : ndarray of shape (steps,), float64
        The noise schedule.
    whitening_, colouring_ : ndarray of shape (latent_dim, latent_dim), float32 and float64
        From standardised vectors to whitened ones (float32 like the batches: one fast product
        per batch), and back (:func:`whitening_of`).
    denoiser_ : keras.Model
        ``eps_theta``: ``[w_t (n, latent_dim), t (n,) int32]`` -> predicted noise (n, latent_dim).
    """

    kind = "diffusion"
    param = "steps"
    description = "latent diffusion (DDPM, MLP denoiser)"
    value_type = int
    defaults: ClassVar[dict[str, int | float]] = {
        **NetworkSampler.defaults, "epochs": 10, "batch_size": 256, "hidden": 128, "learning_rate": 1e-3}

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        self._pca = cloud.pca  # whitens in _build, once the standardisation is known
        super()._fit(cloud, rng)

    def _build(self, latent_dim: int):
        from latentspace.samplers.diffusion_network import build_denoiser, build_training_network

        covariance = (self._pca.axes * self._pca.variances) @ self._pca.axes.T  # in latent units
        self.whitening_, self.colouring_ = whitening_of(covariance / np.outer(self.scale_, self.scale_))
        self.alpha_bar_, self.beta_ = noise_schedule(self.value)
        import os
        if os.environ.get("NOWHITE"):
            self.whitening_, self.colouring_ = np.eye(latent_dim, dtype=np.float32), np.eye(latent_dim)
        self.denoiser_ = build_denoiser(latent_dim, self.alpha_bar_, self.options["hidden"])
        return build_training_network(self.denoiser_)

    def _training_inputs(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``(w_t, t, eps)`` for a batch ``x`` (batch, d) of standardised vectors: a step ``t``
        (batch,), int32, uniform in ``[0, steps)``, noise ``eps`` (batch, d) ~ N(0, I), and the
        noised whitened vectors ``w_t = sqrt(alpha_bar_t) x @ whitening_ + sqrt(1 - alpha_bar_t)
        eps`` (batch, d), float32."""
        t = rng.integers(self.value, size=len(x))
        eps = rng.standard_normal(x.shape)
        alpha_bar = self.alpha_bar_[t, None]
        w_t = np.sqrt(alpha_bar) * (x @ self.whitening_) + np.sqrt(1.0 - alpha_bar) * eps
        return w_t.astype(np.float32), t.astype(np.int32), eps.astype(np.float32)

    def _draw_standard(self, rng: np.random.Generator, n: int) -> np.ndarray:
        alpha_bar, beta = self.alpha_bar_, self.beta_
        w = rng.standard_normal((n, self.latent_dim))
        for t in range(self.value - 1, -1, -1):
            steps = np.full(n, t, dtype=np.int32)
            eps = self.denoiser_.predict_on_batch([w.astype(np.float32), steps])  # one compiled call per step
            w = (w - beta[t] / np.sqrt(1.0 - alpha_bar[t]) * eps) / np.sqrt(1.0 - beta[t])
            if t > 0:
                import os
                if os.environ.get("POSTVAR"):
                    w += np.sqrt(beta[t] * (1 - alpha_bar[t - 1]) / (1 - alpha_bar[t])) * rng.standard_normal(w.shape)
                else:
                    w += np.sqrt(beta[t]) * rng.standard_normal(w.shape)
        return w @ self.colouring_
