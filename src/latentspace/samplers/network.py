"""Samplers whose recipe is a Keras 3 network trained on the latent vectors (flow, second-stage
VAE, diffusion): what they share.

Each network is trained on a seeded subset of the training vectors, standardised per component
(zero mean, unit variance: one learning rate suits every latent space), to minimise a loss the
network itself computes per vector (a negative log-likelihood, a negative ELBO, a denoising
error). Backend-agnostic Keras 3 like the autoencoder: the same code trains under TensorFlow on
the CPU and under JAX on a GPU. Keras is imported only when a network is fitted (here, and in
each sampler's ``*_network`` module), so the stages that import a light sampler do not load it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from latentspace.neighbours import reference_rows
from latentspace.samplers.base import LatentCloud, Sampler

SEED_MAX = 2**31 - 1  # Keras' set_random_seed takes a 32-bit seed
VARIANCE_FLOOR = 1e-6  # of the largest: below it a direction is flat (the default latents' narrowest: 2e-5)


def whitening_of(covariance: np.ndarray, *, keep_flat: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The maps to and from the whitened frame (principal axes, unit variance) of vectors with
    ``covariance`` (d, d).

    Directions whose variance is below ``VARIANCE_FLOOR`` of the largest are flat (a component
    that is a combination of others). By default they are dropped, not stretched to unit
    variance, which would leave them near 0 where a diffusion expects a unit spread: ``k``
    directions remain. ``keep_flat`` keeps all ``d``, their variance raised to the floor, so
    that the map stays invertible (a flow's density needs every direction).

    Returns
    -------
    whitening : ndarray of shape (d, k), float32
        ``x @ whitening`` has identity covariance. float32 like the batches it multiplies.
    colouring : ndarray of shape (k, d), float64
        Back: ``(x @ whitening) @ colouring`` is ``x`` without its flat directions (all of ``x``
        with ``keep_flat``).

    Raises
    ------
    ValueError
        If no direction varies.
    """
    variances, axes = np.linalg.eigh(covariance)
    kept = variances > VARIANCE_FLOOR * variances.max()
    if not kept.any():
        raise ValueError("the latent vectors do not vary: there is nothing to whiten")
    if keep_flat:
        variances = np.maximum(variances, VARIANCE_FLOOR * variances.max())
    else:
        variances, axes = variances[kept], axes[:, kept]
    return (axes / np.sqrt(variances)).astype(np.float32), (axes * np.sqrt(variances)).T


class NetworkSampler(Sampler):
    """A sampler whose density is a Keras 3 network fitted to the standardised training vectors.

    Subclasses implement :meth:`_build` (the network, whose output is each row's loss),
    :meth:`_draw_standard` and, where the density is tractable, :meth:`_log_likelihood_standard`;
    :meth:`_training_inputs` adds per-batch randomness (a diffusion model's noise and times).

    Attributes
    ----------
    rows_ : ndarray of shape (n_fit,), int64
        The training rows fitted to, increasing.
    shift_, scale_ : ndarray of shape (latent_dim,)
        Per-component mean and standard deviation of those rows: the network sees
        ``(z - shift_) / scale_``.
    standard_covariance_ : ndarray of shape (latent_dim, latent_dim)
        The covariance (ddof=0) of those standardised rows: what the networks that whiten their
        input (flow, diffusion) whiten with, in :meth:`_build`.
    network_ : keras.Model
    loss_history_ : list of float
        The mean training loss of each epoch.
    """

    defaults: ClassVar[dict[str, int | float]] = {
        "fit_rows": 50_000, "epochs": 30, "batch_size": 256, "hidden": 256, "learning_rate": 1e-3}

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        import keras

        from latentspace.samplers.network_training import RowBatches, mean_of_output

        self.rows_ = reference_rows(rng, len(cloud.z), self.options["fit_rows"])  # at most (all if fewer)
        z = np.asarray(cloud.z[self.rows_], dtype=np.float64)
        self.shift_ = z.mean(axis=0)
        self.scale_ = np.maximum(z.std(axis=0), 1e-6)  # a constant component stays constant
        x = (z - self.shift_) / self.scale_
        self.standard_covariance_ = x.T @ x / len(x)  # for the networks that whiten (_build)
        x = x.astype(np.float32)
        keras.utils.set_random_seed(int(rng.integers(SEED_MAX)))  # the initial weights and in-graph noise
        self.network_ = self._build(x.shape[1])
        self.network_.compile(optimizer=keras.optimizers.Adam(self.options["learning_rate"]), loss=mean_of_output)
        batches = RowBatches(x, self.options["batch_size"], self._training_inputs,
                             seed=int(rng.integers(SEED_MAX)))
        history = self.network_.fit(batches, epochs=self.options["epochs"], shuffle=False, verbose=0)
        self.loss_history_ = [float(v) for v in history.history["loss"]]
        if not np.isfinite(self.loss_history_[-1]):
            raise ArithmeticError(f"{self.name}: the network's training loss became {self.loss_history_[-1]}; "
                                  f"lower {self.key('learning_rate')}")

    def fit_report(self) -> dict:
        return {"final_loss": self.loss_history_[-1]}

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._draw_standard(rng, n) * self.scale_ + self.shift_

    def log_likelihood(self, z: np.ndarray, chunk_rows: int = 4096) -> np.ndarray | None:
        """Log density (nats) of each row of ``z`` (n, latent_dim) in latent units: the network's
        density of the standardised vector minus ``sum(log scale_)`` (the standardisation's
        Jacobian). None where the network's density is not tractable."""
        if not hasattr(self, "network_"):
            raise RuntimeError(f"{self.name}: fit the sampler before scoring vectors")
        out = []
        for start in range(0, len(z), chunk_rows):
            x = (np.asarray(z[start:start + chunk_rows], dtype=np.float64) - self.shift_) / self.scale_
            ll = self._log_likelihood_standard(x.astype(np.float32))
            if ll is None:
                return None
            out.append(np.asarray(ll, dtype=np.float64) - np.log(self.scale_).sum())
        return np.concatenate(out) if out else np.zeros(0)

    def _training_inputs(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The network's inputs for one batch ``x`` (batch, latent_dim) of standardised vectors."""
        return (x,)

    def _build(self, latent_dim: int):
        """The network: takes :meth:`_training_inputs`' arrays, returns each row's loss, shape (batch,)."""
        raise NotImplementedError

    def _draw_standard(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` standardised vectors, shape (n, latent_dim)."""
        raise NotImplementedError

    def _log_likelihood_standard(self, x: np.ndarray) -> np.ndarray | None:
        """Log density of each standardised row of ``x``: shape (n,); None if not tractable."""
        return None
