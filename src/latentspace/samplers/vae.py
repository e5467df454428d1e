"""A second-stage VAE fitted to the training vectors (Dai & Wipf's two-stage VAE)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from latentspace.samplers.network import NetworkSampler


class SecondStageVAE(NetworkSampler):
    """A small VAE whose data are the autoencoder's latent vectors; draws are its decoder's mean
    at codes drawn from its prior.

    Dai & Wipf 2019, "Diagnosing and enhancing VAE models" (ICLR), fit a second VAE to a first
    stage's latent vectors. On the standardised vectors x (d components), with a code u of
    dimension ``latent_dim`` (the swept value):

    - encoder q(u|x) = N(mu(x), diag sigma^2(x)), two ReLU layers of ``hidden`` units (the
      RAE authors' code has 2 x 1024), mu plus a linear path from x;
    - decoder p(x|u) = N(m(u), gamma^2 I), two ReLU layers plus a linear path from u, with ONE
      learned scalar gamma (``log_gamma`` a trainable weight): Dai & Wipf's point is that gamma
      must be learned, so that the decoder becomes as sharp as the vectors allow;
    - prior p(u) = N(0, diag s^2), s learned (``log_prior_var``, initially 0). This is the same
      family of densities, and the same ELBO, as Dai & Wipf's N(0, I) (divide u by s in the
      encoder, multiply it back in the decoder's first layers), but lets the prior follow the
      codes' spread at once. With s fixed at 1 the KL term's pull on the codes' scale is weak
      against the reconstruction term, and the codes' spread does not match the prior's within
      the budget: on the default vectors (u = 64, default options) the draws then had 0.50 of
      the vectors' total variance and a 10 nats lower held-out ELBO; 0.86 with s learned.

    Trained on each row's negative ELBO with one reparameterised code u = mu + sigma * eps, the
    noise eps an input drawn from the batch generator (:meth:`_training_inputs`): the run
    depends on the numpy seed only. The linear paths learn the vectors' mostly-Gaussian shape
    (a probabilistic PCA) in a few epochs, which a plain MLP does not within the budget.

    A draw is u = s * eps, eps ~ N(0, I) from the caller's generator, then x = m(u): the
    decoder's mean, as Dai & Wipf draw, without the isotropic gamma * eps, which would blur every
    vector alike in the standardised space.

    The density is not tractable: :meth:`log_likelihood` is the ELBO, a lower bound on the log
    density of the *noisy* model x = m(u) + gamma * eps (the draws are its means), estimated with
    ``elbo_draws`` codes per row from a generator of fixed seed ``elbo_seed``, so it is
    deterministic given the fitted network (``log_likelihood_is_lower_bound``).

    Attributes
    ----------
    rows_, shift_, scale_, network_, loss_history_
        As in :class:`NetworkSampler`; ``loss_history_`` is the negative ELBO (nats per
        standardised vector).
    """

    kind = "vae"
    param = "latent_dim"
    description = "second-stage VAE"
    value_type = int
    defaults: ClassVar[dict[str, int | float]] = {
        "fit_rows": 50_000, "epochs": 30, "batch_size": 256, "hidden": 128, "learning_rate": 3e-3}
    log_likelihood_is_lower_bound: ClassVar[bool] = True  # log_likelihood is the ELBO
    elbo_draws: ClassVar[int] = 16  # codes per row in the ELBO estimate of log_likelihood
    elbo_seed: ClassVar[int] = 0  # the fixed seed of those codes

    def _build(self, latent_dim: int):
        from latentspace.samplers.vae_network import build_vae

        return build_vae(latent_dim, self.value, self.options["hidden"])

    def _training_inputs(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``(x, eps)``: the batch (batch, d) and its reparameterisation noise (batch, latent_dim)."""
        return x, rng.standard_normal((len(x), self.value), dtype=np.float32)

    def _weight(self, name: str) -> np.ndarray:
        import keras

        return keras.ops.convert_to_numpy(getattr(self.network_.get_layer("negative_elbo"), name)).astype(np.float64)

    @property
    def gamma_(self) -> float:
        """The decoder's learned noise level gamma (standardised units)."""
        return float(np.exp(self._weight("log_gamma")))

    @property
    def prior_std_(self) -> np.ndarray:
        """The prior's learned standard deviation s of each code component: shape (latent_dim,)."""
        return np.exp(0.5 * self._weight("log_prior_var"))

    def _draw_standard(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """The decoder's mean m(u) at ``n`` codes u ~ N(0, diag s^2): shape (n, d)."""
        import keras

        if n == 0:  # TensorFlow's Dense rejects an empty batch
            return np.zeros((0, len(self.shift_)), dtype=np.float32)
        u = (rng.standard_normal((n, self.value)) * self.prior_std_).astype(np.float32)
        return keras.ops.convert_to_numpy(self.network_.get_layer("decoder")(u, training=False))

    def elbo_standard(self, x: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """Each row's single-draw ELBO (nats) of standardised rows ``x`` (n, d) at the codes
        ``mu + sigma * eps``, ``eps`` of shape (n, latent_dim): the negated network output,
        shape (n,), float64."""
        import keras

        x, eps = np.asarray(x, dtype=np.float32), np.asarray(eps, dtype=np.float32)
        return -keras.ops.convert_to_numpy(self.network_([x, eps], training=False)).astype(np.float64)

    def _log_likelihood_standard(self, x: np.ndarray) -> np.ndarray:
        """The ELBO of each standardised row of ``x`` (n, d): shape (n,), the mean of
        ``elbo_draws`` single-draw estimates whose noise, (n, latent_dim) each, comes afresh at
        each call from ``np.random.default_rng(elbo_seed)``."""
        rng = np.random.default_rng(self.elbo_seed)
        return np.mean([self.elbo_standard(x, rng.standard_normal((len(x), self.value)))
                        for _ in range(self.elbo_draws)], axis=0)
