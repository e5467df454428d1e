"""The second-stage VAE sampler (sample.vae) against a known Gaussian and a numpy ELBO."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from latentspace.geometry import principal_axes
from latentspace.samplers import LatentCloud
from latentspace.samplers.vae import SecondStageVAE

# a full-rank correlated normal in 6 dimensions, off the origin
VARIANCES = np.array([6.0, 3.0, 1.5, 1.0, 0.5, 0.25])
ROTATION = np.linalg.qr(np.random.default_rng(7).normal(size=(6, 6)))[0]
OFFSET = np.array([2.0, -1.0, 0.5, 0.0, 3.0, -4.0])
COVARIANCE = ROTATION @ np.diag(VARIANCES) @ ROTATION.T
# small and quick: a few seconds
OPTIONS = {"epochs": 30, "batch_size": 200, "hidden": 32, "learning_rate": 1e-2}


def gaussian_rows(n: int, seed: int) -> np.ndarray:
    """``n`` rows of the known normal, float32: shape (n, 6)."""
    eps = np.random.default_rng(seed).standard_normal((n, 6))
    return (OFFSET + (eps * np.sqrt(VARIANCES)) @ ROTATION.T).astype(np.float32)


def cloud_of(z: np.ndarray) -> LatentCloud:
    mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
    return LatentCloud(z, mean, std, mean, std, principal_axes(z))


def fitted_vae(seed: int = 0, **options) -> SecondStageVAE:
    sampler = SecondStageVAE(6, **{**OPTIONS, **options})
    return sampler.fit(cloud_of(gaussian_rows(3000, seed=1)), np.random.default_rng(seed))


@pytest.fixture(scope="module")
def vae():
    return fitted_vae()


def naive_elbo(vae: SecondStageVAE, x: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """The single-draw ELBO of standardised rows ``x`` (n, d) at noise ``eps`` (n, u), from the
    encoder's and decoder's outputs in numpy: log N(x; m(u), gamma^2 I) - KL(q(u|x) || N(0, s^2))."""
    mu, log_var = (np.asarray(t, dtype=np.float64) for t in vae.network_.get_layer("encoder")(x))
    u = mu + np.exp(0.5 * log_var) * eps
    m = np.asarray(vae.network_.get_layer("decoder")(u.astype(np.float32)), dtype=np.float64)
    gamma2, prior_var = vae.gamma_**2, vae.prior_std_**2
    log_p_x = np.sum(-0.5 * (x - m) ** 2 / gamma2 - 0.5 * np.log(2 * np.pi * gamma2), axis=1)
    kl = 0.5 * np.sum((mu**2 + np.exp(log_var)) / prior_var - 1.0 - log_var + np.log(prior_var), axis=1)
    return log_p_x - kl


def test_heldout_elbo_is_a_lower_bound_close_to_the_exact_log_likelihood(vae):
    held_out = gaussian_rows(2000, seed=2)
    exact = multivariate_normal(OFFSET, COVARIANCE).logpdf(held_out.astype(np.float64))
    elbo = vae.log_likelihood(held_out)
    assert elbo.shape == (2000,) and np.all(np.isfinite(elbo))
    gap = exact.mean() - elbo.mean()
    assert 0.0 < gap < 2.0, (exact.mean(), elbo.mean())
    assert SecondStageVAE.log_likelihood_is_lower_bound


def test_elbo_equals_a_numpy_computation_of_the_formula(vae):
    z = gaussian_rows(300, seed=3)
    x = ((z - vae.shift_) / vae.scale_).astype(np.float32)
    eps = np.random.default_rng(4).standard_normal((300, 6))
    np.testing.assert_allclose(vae.elbo_standard(x, eps), naive_elbo(vae, x, eps), rtol=1e-4, atol=1e-3)
    # log_likelihood: the mean over the fixed generator's draws, in latent units (the Jacobian)
    draws = np.random.default_rng(vae.elbo_seed).standard_normal((vae.elbo_draws, 300, 6))
    expected = np.mean([naive_elbo(vae, x, e) for e in draws], axis=0) - np.log(vae.scale_).sum()
    np.testing.assert_allclose(vae.log_likelihood(z), expected, rtol=1e-4, atol=1e-3)


def test_draws_recover_the_gaussian_mean_and_covariance(vae):
    z = vae.draw(np.random.default_rng(5), 20_000).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), OFFSET, atol=0.1 * np.sqrt(VARIANCES.max()))
    # the draws are the decoder's means: the noisy model adds gamma^2 per standardised component
    covariance = np.cov(z.T) + vae.gamma_**2 * np.diag(vae.scale_**2)
    assert np.linalg.norm(covariance - COVARIANCE) < 0.15 * np.linalg.norm(COVARIANCE)
    np.testing.assert_allclose(np.linalg.eigvalsh(covariance)[::-1], VARIANCES, rtol=0.4)


def test_same_seed_same_vae_and_draws_another_seed_others():
    quick = {"epochs": 1, "fit_rows": 1000}  # a poor fit, but every weight and draw must repeat exactly
    first, again, other = fitted_vae(0, **quick), fitted_vae(0, **quick), fitted_vae(1, **quick)
    draws = [s.draw(np.random.default_rng(9), 500) for s in (first, again, other)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], draws[2])
    held_out = gaussian_rows(100, seed=2)
    np.testing.assert_array_equal(first.log_likelihood(held_out), again.log_likelihood(held_out))


def test_draws_are_float32_finite_and_shaped(vae):
    z = vae.draw(np.random.default_rng(6), 257)
    assert z.dtype == np.float32 and z.shape == (257, 6) and np.all(np.isfinite(z))
    assert vae.draw(np.random.default_rng(6), 0).shape == (0, 6)
    assert vae.name == "vae_latent_dim_06" and vae.label == "second-stage VAE, latent_dim = 6"


def test_importing_the_sampler_does_not_load_keras():
    code = "import sys, latentspace.samplers.vae; assert 'keras' not in sys.modules, 'keras loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)
