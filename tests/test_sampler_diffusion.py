"""The latent diffusion sampler (DDPM) against known answers: a Gaussian mixture it must recover,
its forward noising against the closed form, its schedule against Ho et al.'s, and its seeding."""

import numpy as np
import pytest

from latentspace.geometry import principal_axes
from latentspace.samplers import LatentCloud
from latentspace.samplers.diffusion import LatentDiffusion, noise_schedule

# three well-separated round components: 12 standard deviations between the closest means
MEANS = np.array([[-4.0, 0.0], [3.0, 3.0], [3.0, -3.0]])
WEIGHTS = np.array([0.5, 0.3, 0.2])
SD = 0.5
SMALL = {"hidden": 64, "batch_size": 512}  # a 2-D density needs no wide network; large batches: few, steady steps


def cloud_of(z: np.ndarray) -> LatentCloud:
    z = np.asarray(z, dtype=np.float32)
    mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
    return LatentCloud(z, mean, std, mean, std, principal_axes(z))


def mixture_cloud(n: int, seed: int = 0) -> LatentCloud:
    rng = np.random.default_rng(seed)
    component = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    return cloud_of(MEANS[component] + SD * rng.standard_normal((n, 2)))


@pytest.fixture(scope="module")
def mixture_sampler():
    # 660 Adam steps: enough for a 2-D mixture, in a few seconds
    options = {**SMALL, "epochs": 60, "learning_rate": 3e-3}
    return LatentDiffusion(50, **options).fit(mixture_cloud(6000), np.random.default_rng(0))


def test_draws_recover_the_mixture_means_weights_and_spread(mixture_sampler):
    z = mixture_sampler.draw(np.random.default_rng(1), 4000).astype(np.float64)
    distance = np.linalg.norm(z[:, None, :] - MEANS[None], axis=-1)  # (n, 3)
    nearest = distance.argmin(axis=1)
    np.testing.assert_allclose(np.bincount(nearest, minlength=3) / len(z), WEIGHTS, atol=0.05)
    for k, mean in enumerate(MEANS):
        # 0.6 sd: a twentieth of the gap between the closest means. The sampling error of ~800 draws'
        # mean is 0.04 sd; the rest is the bias of a short fit, which blurs each component a little.
        assert np.linalg.norm(z[nearest == k].mean(axis=0) - mean) < 0.6 * SD, k
    # not smeared between or beyond the components: the median distance to the nearest mean is
    # sqrt(2 ln 2) sd for a 2-D normal, and 3 sd hold 98.9 % of it
    assert 0.8 < np.median(distance.min(axis=1)) / (np.sqrt(2 * np.log(2)) * SD) < 1.35
    assert np.mean(distance.min(axis=1) < 3 * SD) > 0.9


def test_forward_noising_matches_the_closed_form(mixture_sampler):
    s = mixture_sampler
    x = np.random.default_rng(2).standard_normal((5000, 2)).astype(np.float32)
    w_t, t, eps = s._training_inputs(x, np.random.default_rng(3))
    assert w_t.dtype == eps.dtype == np.float32 and t.dtype == np.int32
    # the step and the noise are the batch generator's draws, in that order
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(t, rng.integers(50, size=5000))
    np.testing.assert_allclose(eps, rng.standard_normal((5000, 2)), rtol=1e-6)
    assert abs(np.bincount(t, minlength=50) / 5000 - 1 / 50).max() < 0.01  # uniform over every step
    x0 = x.astype(np.float64) @ s.whitening_.astype(np.float64)
    alpha_bar = s.alpha_bar_[t][:, None]
    np.testing.assert_allclose(w_t, np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps, atol=1e-5)


def test_whitening_whitens_the_standardised_training_vectors_and_colouring_undoes_it(mixture_sampler):
    s = mixture_sampler
    z = mixture_cloud(6000).z
    w = ((z - s.shift_) / s.scale_) @ s.whitening_.astype(np.float64)
    np.testing.assert_allclose(np.cov(w, rowvar=False), np.eye(2), atol=1e-3)
    np.testing.assert_allclose(s.whitening_ @ s.colouring_, np.eye(2), atol=1e-5)


def test_noise_schedule_is_ho_linear_schedule_for_1000_steps_and_ends_in_noise_for_any():
    alpha_bar, beta = noise_schedule(1000)
    np.testing.assert_allclose(beta, np.linspace(1e-4, 0.02, 1000), atol=3e-4)
    for steps in (1, 10, 100, 1000):
        alpha_bar, beta = noise_schedule(steps)
        np.testing.assert_allclose(alpha_bar, np.cumprod(1 - beta), rtol=1e-12)
        assert alpha_bar[-1] == pytest.approx(np.exp(-10.05))
    for steps, largest_beta in ((10, 0.86), (100, 0.19)):  # no reverse step divides by sqrt(1 - beta) ~ 0
        alpha_bar, beta = noise_schedule(steps)
        assert np.all(np.diff(alpha_bar) < 0) and np.all(beta > 0) and beta.max() < largest_beta


def test_the_untrained_denoiser_is_the_exact_one_for_standard_normal_data():
    from latentspace.samplers.diffusion_network import build_denoiser

    alpha_bar, _ = noise_schedule(20)
    denoiser = build_denoiser(3, alpha_bar, hidden=8)
    w_t = np.random.default_rng(4).standard_normal((20, 3)).astype(np.float32)
    t = np.arange(20, dtype=np.int32)
    eps = denoiser.predict_on_batch([w_t, t])
    # E[eps | w_t] = sqrt(1 - alpha_bar_t) w_t when w_0 ~ N(0, I)
    np.testing.assert_allclose(eps, np.sqrt(1 - alpha_bar)[:, None] * w_t, rtol=1e-5, atol=1e-6)


def test_a_correlated_normal_with_a_flat_direction_is_drawn_with_its_covariance():
    rotation = np.linalg.qr(np.random.default_rng(5).normal(size=(4, 4)))[0]
    sd = np.array([3.0, 1.0, 0.3, 0.0])  # the last axis is flat: no vector moves along it
    z = 1.0 + (np.random.default_rng(6).standard_normal((4000, 4)) * sd) @ rotation.T
    sampler = LatentDiffusion(20, epochs=2, **SMALL).fit(cloud_of(z), np.random.default_rng(7))
    drawn = sampler.draw(np.random.default_rng(8), 20_000).astype(np.float64)
    covariance = rotation @ np.diag(sd**2) @ rotation.T
    np.testing.assert_allclose(drawn.mean(axis=0), 1.0, atol=0.1)
    np.testing.assert_allclose(np.cov(drawn, rowvar=False), covariance, atol=0.05 * sd.max() ** 2)
    assert sampler.whitening_.shape == (4, 3)  # the flat axis is dropped: nothing moves along it
    assert np.abs((drawn - 1.0) @ rotation[:, 3]).max() < 1e-4


def test_vectors_that_do_not_vary_are_refused():
    with pytest.raises(ValueError, match="do not vary"):
        LatentDiffusion(10, epochs=1).fit(cloud_of(np.ones((50, 3))), np.random.default_rng(0))


def test_same_seed_same_draws_and_float32_finite_vectors():
    cloud = mixture_cloud(600, seed=9)

    def fitted_and_drawn(draw_seed):
        sampler = LatentDiffusion(10, epochs=2, **SMALL).fit(cloud, np.random.default_rng(10))
        return sampler, sampler.draw(np.random.default_rng(draw_seed), 300)

    sampler, z = fitted_and_drawn(11)
    assert z.shape == (300, 2) and z.dtype == np.float32 and np.all(np.isfinite(z))
    np.testing.assert_array_equal(fitted_and_drawn(11)[1], z)  # a fresh fit with the same seeds
    assert not np.allclose(sampler.draw(np.random.default_rng(12), 300), z)
    assert sampler.draw(np.random.default_rng(11), 0).shape == (0, 2)
    assert sampler.log_likelihood(cloud.z) is None  # no tractable density
