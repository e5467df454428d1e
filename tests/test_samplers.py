"""Every sampler's vectors against its definition, on clouds with known answers."""

import math
import re
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from latentspace import samplers
from latentspace.geometry import PrincipalAxes, principal_axes
from latentspace.samplers import LatentCloud

# a correlated normal: variances 9, 4, 1, 0.25, 0.04, 0 along a fixed rotation, off the origin
VARIANCES = np.array([9.0, 4.0, 1.0, 0.25, 0.04, 0.0])
ROTATION = np.linalg.qr(np.random.default_rng(42).normal(size=(6, 6)))[0]
OFFSET = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
COVARIANCE = ROTATION @ np.diag(VARIANCES) @ ROTATION.T


def cloud_of(z: np.ndarray, pca: PrincipalAxes | None = None) -> LatentCloud:
    """A cloud whose summaries come from numpy (mu, hw ~ mean, std) and its PCA from geometry."""
    z = np.asarray(z, dtype=np.float32)
    mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
    return LatentCloud(z, mean, std, mean, std, pca or principal_axes(z))


def known_cloud(n: int = 5000, seed: int = 0) -> LatentCloud:
    """Vectors of the known normal; the PCA is the exact one, not the fitted one."""
    eps = np.random.default_rng(seed).standard_normal((n, 6))
    z = OFFSET + (eps * np.sqrt(VARIANCES)) @ ROTATION.T
    return cloud_of(z, PrincipalAxes(OFFSET, ROTATION, VARIANCES))


@pytest.fixture(scope="module")
def cloud():
    return known_cloud()


def fitted(sampler, cloud, seed=0):
    return sampler.fit(cloud, np.random.default_rng(seed))


def draw(sampler, cloud, n, seed=0):
    return fitted(sampler, cloud, seed).draw(np.random.default_rng(seed + 1), n).astype(np.float64)


# --- uniform box and intervals (parts II, VII) -------------------------------------------------

def test_uniform_box_bounds_moments_and_seed():
    rng = np.random.default_rng(0)
    z = samplers.uniform_box(rng, 5000, 16, 1.5)
    assert z.shape == (5000, 16) and z.dtype == np.float32
    assert z.min() >= -1.5 and z.max() <= 1.5
    assert abs(z.var() - 1.5**2 / 3) < 0.02
    with pytest.raises(ValueError, match="b"):
        samplers.uniform_box(rng, 3, 4, -1.0)


def test_uniform_box_sampler_ignores_the_cloud_but_its_dimension(cloud):
    z = draw(samplers.UniformBox(2.0), cloud, 20_000)
    assert z.shape == (20_000, 6) and z.min() >= -2.0 and z.max() <= 2.0
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), 4.0 / 3, rtol=0.05)


def test_uniform_intervals_inside_each_component_interval():
    mu = np.array([0.0, 2.0, -1.0, 0.5])
    hw = np.array([1.0, 0.25, 2.0, 0.125])
    for fact in (0.5, 1.0, 2.0):
        z = samplers.uniform_intervals(np.random.default_rng(1), 20_000, mu, hw, fact)
        lo, hi = mu - fact * hw, mu + fact * hw
        assert np.all(z >= lo - 1e-6) and np.all(z <= hi + 1e-6)
        # uniform: mean at mu, and the extreme deciles reach near the interval ends
        np.testing.assert_allclose(z.mean(axis=0), mu, atol=0.02 * fact * hw.max() + 1e-3)
        np.testing.assert_allclose(np.quantile(z, 0.99, axis=0), hi - 0.02 * fact * hw, atol=0.01 * fact * hw.max())


def test_intervals_sampler_uses_the_cloud_mu_and_absolute_hw():
    z0 = np.zeros((10, 3), np.float32)
    mu, hw = np.array([1.0, -2.0, 0.0]), np.array([0.5, -1.0, 2.0])  # a negative half-width counts as its size
    cloud = LatentCloud(z0, mu, hw, -mu, np.ones(3), PrincipalAxes(-mu, np.eye(3), np.ones(3)))  # mean, std differ
    z = draw(samplers.UniformIntervals(1.5), cloud, 20_000)
    half = 1.5 * np.abs(hw)
    assert np.all(z >= mu - half - 1e-6) and np.all(z <= mu + half + 1e-6)
    np.testing.assert_allclose(z.std(axis=0), half / np.sqrt(3), rtol=0.03)


# --- normal recipes (parts VIII-X, RAE) --------------------------------------------------------

def test_independent_gaussian_matches_each_component_and_drops_correlations(cloud):
    real_r = np.corrcoef(cloud.z, rowvar=False)
    assert np.abs(real_r - np.eye(6)).max() > 0.5  # the cloud is strongly correlated
    for scale in (0.5, 2.0):
        z = draw(samplers.IndependentGaussian(scale), cloud, 40_000)
        np.testing.assert_allclose(z.mean(axis=0), cloud.mean, atol=0.03 * scale * cloud.std.max())
        np.testing.assert_allclose(z.std(axis=0), scale * cloud.std, rtol=0.02)
        assert np.abs(np.corrcoef(z, rowvar=False) - np.eye(6)).max() < 0.03


def test_multivariate_normal_matches_a_known_covariance(cloud):
    z = draw(samplers.MultivariateNormal(1.0), cloud, 100_000)
    np.testing.assert_allclose(z.mean(axis=0), OFFSET, atol=0.03)
    np.testing.assert_allclose(np.cov(z, rowvar=False), COVARIANCE, atol=0.03 * VARIANCES.max())
    # the zero-variance axis stays flat: nothing moves along it
    assert np.abs((z - OFFSET) @ ROTATION[:, 5]).max() < 1e-5
    # scale multiplies every standard deviation, the mean stays
    z3 = draw(samplers.MultivariateNormal(3.0), cloud, 100_000)
    np.testing.assert_allclose(z3.std(axis=0), 3 * z.std(axis=0), rtol=0.02)
    np.testing.assert_allclose(z3.mean(axis=0), OFFSET, atol=0.1)


def test_multivariate_normal_clips_tiny_negative_variances():
    pca = PrincipalAxes(np.zeros(3), np.eye(3), np.array([1.0, 0.5, -1e-15]))
    cloud = LatentCloud(np.zeros((4, 3), np.float32), *[np.zeros(3)] * 4, pca)
    z = draw(samplers.MultivariateNormal(1.0), cloud, 100)
    assert np.all(np.isfinite(z)) and np.all(z[:, 2] == 0)


def truncated_variance(t: float) -> float:
    """Variance of a standard normal truncated to [-t, t] (closed form)."""
    phi = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(t / math.sqrt(2))  # 2 Phi(t) - 1
    return 1 - 2 * t * phi / mass


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_principal_axes_coordinates_are_truncated_normals(cloud, t):
    z = draw(samplers.PrincipalAxesSampler(t), cloud, 50_000)
    u = (z - OFFSET) @ ROTATION  # the aligned frame of the known normal
    sd = np.sqrt(VARIANCES)
    assert np.all(np.abs(u) <= t * sd + 1e-5 * (1 + sd))
    assert np.all(np.abs(u[:, 5]) < 1e-5)  # zero variance: u = 0
    # each axis reaches its bound, with the truncated normal's variance
    np.testing.assert_allclose(np.abs(u[:, :5]).max(axis=0), t * sd[:5], rtol=0.01)
    np.testing.assert_allclose(u[:, :5].var(axis=0), truncated_variance(t) * VARIANCES[:5], rtol=0.03)
    np.testing.assert_allclose(u.mean(axis=0), 0.0, atol=0.02 * sd.max())
    assert np.abs(np.corrcoef(u[:, :5], rowvar=False) - np.eye(5)).max() < 0.03


def test_principal_axes_with_a_large_truncation_is_the_normal(cloud):
    z = draw(samplers.PrincipalAxesSampler(10.0), cloud, 100_000)
    np.testing.assert_allclose(np.cov(z, rowvar=False), COVARIANCE, atol=0.03 * VARIANCES.max())


# --- Gaussian mixture (RAE ex-post density estimation) ------------------------------------------

BLOB_WEIGHTS = np.array([0.5, 0.3, 0.2])
BLOB_MEANS = np.array([[10.0, 0, 0, 0], [0, 10.0, 0, 0], [0, 0, -10.0, 5.0]])


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(5)
    counts = (BLOB_WEIGHTS * 4000).astype(int)
    z = np.concatenate([m + rng.normal(scale=0.5, size=(c, 4)) for m, c in zip(BLOB_MEANS, counts)])
    return cloud_of(rng.permutation(z))


def nearest_blob(z):
    return np.argmin(((z[:, None, :] - BLOB_MEANS) ** 2).sum(axis=2), axis=1)


def test_mixture_recovers_known_blobs_and_draws_their_shares(blobs):
    gmm = fitted(samplers.GaussianMixture(3, fit_rows=3000, max_iter=100), blobs)
    assert gmm.converged_
    assert len(gmm.rows_) == 3000 and np.all(np.diff(gmm.rows_) > 0)  # a sorted subset without repeats
    order = nearest_blob(gmm.means_)
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(gmm.weights_[np.argsort(order)], BLOB_WEIGHTS, atol=0.03)
    np.testing.assert_allclose(gmm.means_[np.argsort(order)], BLOB_MEANS, atol=0.1)
    np.testing.assert_allclose(gmm.covariances_[np.argsort(order)], np.tile(0.25 * np.eye(4), (3, 1, 1)), atol=0.05)

    z = gmm.draw(np.random.default_rng(1), 20_000).astype(np.float64)
    blob = nearest_blob(z)
    np.testing.assert_allclose(np.bincount(blob, minlength=3) / len(z), BLOB_WEIGHTS, atol=0.015)
    for j in range(3):  # each draw's spread is its component's
        np.testing.assert_allclose(z[blob == j].std(axis=0), 0.5, rtol=0.05)


def test_mixture_with_one_component_is_the_normal(cloud):
    gmm = fitted(samplers.GaussianMixture(1), cloud)
    np.testing.assert_allclose(gmm.weights_, [1.0])
    np.testing.assert_allclose(gmm.covariances_[0], np.cov(cloud.z, rowvar=False, bias=True), atol=1e-5)
    # drawn through the Cholesky factor: the correlated covariance comes back, not its transpose's
    z = gmm.draw(np.random.default_rng(1), 100_000).astype(np.float64)
    np.testing.assert_allclose(np.cov(z, rowvar=False), gmm.covariances_[0], atol=0.03 * VARIANCES.max())


def test_mixture_warns_when_em_stops_early_and_rejects_too_many_components(blobs):
    with pytest.warns(UserWarning, match=re.escape("sample.mixture.max_iter")):
        fitted(samplers.GaussianMixture(3, max_iter=1), blobs)
    with pytest.raises(ValueError, match=re.escape("sample.mixture.k")):
        fitted(samplers.GaussianMixture(11, fit_rows=10), blobs)


def naive_mixture_log_density(gmm, z):
    """Reference: log sum_c w_c N(z | m_c, S_c), one vector and one component at a time."""
    out = []
    for x in z.astype(np.float64):
        terms = []
        for w, m, cov in zip(gmm.weights_, gmm.means_, gmm.covariances_):
            d = x - m
            _, logdet = np.linalg.slogdet(cov)
            terms.append(np.log(w) - 0.5 * (d @ np.linalg.solve(cov, d) + logdet + len(x) * math.log(2 * math.pi)))
        top = max(terms)
        out.append(top + math.log(sum(math.exp(t - top) for t in terms)))
    return np.array(out)


def test_mixture_log_likelihood_matches_the_density_formula(blobs):
    gmm = fitted(samplers.GaussianMixture(3, fit_rows=3000), blobs)
    z = np.asarray(blobs.z[:50])
    np.testing.assert_allclose(gmm.log_likelihood(z, chunk_rows=7), naive_mixture_log_density(gmm, z), rtol=1e-9)
    with pytest.raises(RuntimeError, match="fit the sampler"):
        samplers.GaussianMixture(3).log_likelihood(z)


def test_too_many_components_score_their_own_vectors_far_above_held_out_ones():
    """The check the sample stage reports: 40 components on 400 vectors in 8-D memorise them."""
    rng = np.random.default_rng(2)
    z, held_out = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    gaps = {}
    for k in (1, 40):
        gmm = fitted(samplers.GaussianMixture(k), cloud_of(z))
        gaps[k] = gmm.log_likelihood(z[gmm.rows_]).mean() - gmm.log_likelihood(held_out).mean()
    assert abs(gaps[1]) < 0.5 < 5 < gaps[40]


def test_chosen_mixture_finds_the_number_of_well_separated_blobs(blobs):
    """Three blobs: doubling tries 1, 2, 4 (and 8 only if 4 helped), bisection then finds that 3
    components score as well as 4 on the held-aside vectors, and 2 do not."""
    for seed in range(3):
        gmm = fitted(samplers.ChosenMixture(10, validation_rows=1000), blobs, seed=seed)
        assert len(gmm.weights_) == 3, gmm.search_
        assert set(gmm.search_) >= {1, 2, 3, 4} and max(gmm.search_) <= 8
        np.testing.assert_allclose(np.sort(gmm.weights_), np.sort(BLOB_WEIGHTS), atol=0.03)
        assert len(gmm.rows_) == len(blobs.z) and gmm.fit_report()["components"] == 3
    assert "chose k = 3" in gmm.label


def test_chosen_mixture_search_matches_a_brute_force_one_standard_error_rule():
    """On overlapping clouds (no clear k), the chosen k is the smallest of the tried ones whose
    held-aside score is not significantly below the best tried: checked by hand from the fits."""
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(loc=c, size=(600, 3)) for c in (0.0, 2.5, 5.0, 7.5)])
    gmm = fitted(samplers.ChosenMixture(8, validation_rows=600, standard_errors=2.0), cloud_of(rng.permutation(z)))
    best = max(gmm.search_, key=gmm.search_.get)
    assert len(gmm.weights_) <= best and gmm.search_[len(gmm.weights_)] <= gmm.search_[best]
    assert 1 < len(gmm.weights_)


def test_chosen_mixture_holds_aside_at_most_a_quarter_and_needs_rows(blobs):
    gmm = fitted(samplers.ChosenMixture(4, fit_rows=100, validation_rows=99), blobs)
    assert len(gmm.rows_) == 100 and len(gmm.weights_) >= 1  # 25 held aside, 75 fitted
    with pytest.raises(ValueError, match=re.escape("sample.mixture_chosen.fit_rows")):
        fitted(samplers.ChosenMixture(4, fit_rows=7), blobs)


def test_candidate_doubling_stops_at_k_max():
    gmm = fitted(samplers.ChosenMixture(1, validation_rows=100), cloud_of(np.random.default_rng(0).normal(size=(400, 2))))
    assert list(gmm.search_) == [1] and len(gmm.weights_) == 1


# --- kernel density (the RAE authors' ex-post KDE) ----------------------------------------------

def test_kernel_density_draws_are_training_vectors_plus_isotropic_noise():
    """Far-apart training vectors: each draw's nearest is its kernel's centre, and the offsets are
    N(0, h^2 I) (mean 0, variance h^2 per axis, uncorrelated), the centres picked uniformly."""
    centres = np.repeat(np.arange(5.0)[:, None], 4, axis=1) * 100.0  # 5 vectors, 4-D, 200 apart
    h = 0.7
    kde = fitted(samplers.KernelDensity(h), cloud_of(centres))
    z = kde.draw(np.random.default_rng(1), 20_000).astype(np.float64)
    nearest = np.argmin(((z[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
    offsets = z - centres[nearest]
    assert np.abs(offsets.mean(axis=0)).max() < 0.02
    np.testing.assert_allclose(np.cov(offsets.T), h**2 * np.eye(4), atol=0.02)
    assert np.abs(np.bincount(nearest, minlength=5) / len(z) - 0.2).max() < 0.01


def naive_kde_log_density(centres, h, queries):
    """Reference: log (1/n sum_i N(q | x_i, h^2 I)), one query at a time, by log-sum-exp."""
    d = centres.shape[1]
    return np.array([logsumexp(-((q - centres) ** 2).sum(axis=1) / (2 * h * h)) - math.log(len(centres))
                     - d / 2 * math.log(2 * math.pi * h * h) for q in queries])


def test_kernel_density_log_likelihood_matches_the_definition_and_scikit_learn():
    from sklearn.neighbors import KernelDensity as Reference

    rng = np.random.default_rng(4)
    z, queries = rng.normal(size=(300, 6)), rng.normal(size=(40, 6)) * 1.5
    for h in (0.05, 0.4, 2.0):
        kde = fitted(samplers.KernelDensity(h, fit_rows=200), cloud_of(z))
        centres = np.asarray(z, dtype=np.float32)[kde.rows_].astype(np.float64)
        ours = kde.log_likelihood(queries, chunk_rows=7)
        np.testing.assert_allclose(ours, naive_kde_log_density(centres, h, queries), rtol=1e-9)
        if h == 2.0:  # scikit-learn agrees while its kernel sums do not underflow
            np.testing.assert_allclose(ours, Reference(bandwidth=h).fit(centres).score_samples(queries), rtol=1e-9)
    with pytest.raises(RuntimeError, match="fit the sampler"):
        samplers.KernelDensity(0.5).log_likelihood(queries)


def test_a_narrow_kernel_density_copies_its_vectors():
    """Fitted vectors score their own kernel: the gap to held-out ones grows as h shrinks."""
    rng = np.random.default_rng(2)
    z, held_out = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    gaps = []
    for h in (1.0, 0.3, 0.1):
        kde = fitted(samplers.KernelDensity(h), cloud_of(z))
        gaps.append(kde.log_likelihood(z[kde.rows_]).mean() - kde.log_likelihood(held_out).mean())
    assert 0 < gaps[0] < gaps[1] < gaps[2] and gaps[2] > 50


# --- densities of the normals: against scipy ----------------------------------------------------

def test_normal_log_likelihoods_match_scipy():
    from scipy.stats import multivariate_normal

    full_rank = PrincipalAxes(OFFSET, ROTATION, VARIANCES + 0.5)  # the known normal has a flat axis
    cloud = cloud_of(known_cloud().z, full_rank)
    z = np.asarray(cloud.z[:30], dtype=np.float64) * 1.2
    for scale in (0.5, 1.0):
        normal = fitted(samplers.MultivariateNormal(scale), cloud)
        covariance = ROTATION @ np.diag(VARIANCES + 0.5) @ ROTATION.T
        np.testing.assert_allclose(normal.log_likelihood(z), multivariate_normal(OFFSET, scale**2 * covariance)
                                   .logpdf(z), rtol=1e-9)
        independent = fitted(samplers.IndependentGaussian(scale), cloud)
        np.testing.assert_allclose(independent.log_likelihood(z), multivariate_normal(
            cloud.mean, np.diag((scale * cloud.std) ** 2)).logpdf(z), rtol=1e-9)


def test_samplers_without_a_density_say_so(cloud):
    for sampler in (samplers.UniformBox(1.0), samplers.UniformIntervals(1.0), samplers.PrincipalAxesSampler(2.0),
                    samplers.Neighbourhood(0.5)):
        assert fitted(sampler, cloud).log_likelihood(np.asarray(cloud.z[:3])) is None


# --- neighbourhood (micro-correlations) --------------------------------------------------------

def test_neighbourhood_points_lie_between_a_real_vector_and_a_near_neighbour():
    real = np.random.default_rng(7).normal(size=(40, 3))
    k, t_max = 3, 0.4
    z = draw(samplers.Neighbourhood(t_max, k=k), cloud_of(real), 600)
    real = real.astype(np.float32).astype(np.float64)

    # every segment (anchor i, one of its k nearest others j), by brute force
    d = np.linalg.norm(real[:, None] - real[None], axis=2)
    np.fill_diagonal(d, np.inf)
    i = np.repeat(np.arange(40), k)
    j = np.argsort(d, axis=1)[:, :k].ravel()
    x, step = real[i], real[j] - real[i]  # (120, 3)
    t = np.einsum("nsd,sd->ns", z[:, None] - x, step) / (step**2).sum(axis=1)
    off = np.linalg.norm(z[:, None] - (x + t[..., None] * step), axis=2)
    on = (off < 1e-5) & (t >= -1e-6) & (t <= t_max + 1e-6)
    assert on.any(axis=1).all()
    # t is uniform on [0, t_max]: mean t_max / 2
    t_found = np.where(on, t, np.nan)[np.arange(len(z)), on.argmax(axis=1)]
    assert abs(t_found.mean() - t_max / 2) < 0.02 and t_found.max() > 0.95 * t_max
    # every one of the k neighbours gets picked
    assert len(np.unique(on.argmax(axis=1) % k)) == k


def test_neighbourhood_k_must_be_below_the_number_of_vectors():
    cloud = cloud_of(np.random.default_rng(0).normal(size=(5, 2)))
    fitted(samplers.Neighbourhood(0.5, k=4), cloud)
    with pytest.raises(ValueError, match=re.escape("sample.neighbourhood.k")):
        fitted(samplers.Neighbourhood(0.5, k=5), cloud)


# --- every sampler -----------------------------------------------------------------------------

EVERY = [samplers.UniformBox(1.0), samplers.UniformIntervals(1.0), samplers.IndependentGaussian(1.0),
         samplers.MultivariateNormal(1.0), samplers.PrincipalAxesSampler(2.0),
         samplers.GaussianMixture(2, fit_rows=1000, max_iter=200),
         samplers.ChosenMixture(4, fit_rows=1000, max_iter=200, validation_rows=200), samplers.KernelDensity(0.5, fit_rows=1000),
         samplers.Neighbourhood(0.5, k=3)]


NETWORKS = ("flow", "vae", "diffusion")  # trained networks: tests/test_sampler_<kind>.py check the same of each


def test_the_registry_lists_every_sampler_in_order():
    assert list(samplers.SAMPLERS) == ["uniform", "intervals", "gaussian", "normal", "principal_axes",
                                       "mixture", "mixture_chosen", "kde", "flow", "vae", "diffusion",
                                       "neighbourhood"]
    assert [type(s) for s in EVERY] == [cls for kind, cls in samplers.SAMPLERS.items() if kind not in NETWORKS]


@pytest.mark.parametrize("sampler", EVERY, ids=lambda s: s.kind)
def test_every_sampler_is_float32_finite_and_seeded(sampler, cloud):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no degenerate-input warnings on a plain cloud
        z = samplers.draw_setting(sampler, cloud, seed=3, n=50)
    assert z.shape == (50, 6) and z.dtype == np.float32 and np.all(np.isfinite(z))
    np.testing.assert_array_equal(samplers.draw_setting(sampler, cloud, seed=3, n=50), z)
    assert not np.array_equal(samplers.draw_setting(sampler, cloud, seed=4, n=50), z)
    assert sampler.draw(np.random.default_rng(0), 0).shape == (0, 6)


@pytest.mark.parametrize("sampler", EVERY, ids=lambda s: s.kind)
def test_a_memory_mapped_cloud_gives_the_same_vectors(sampler, cloud, tmp_path):
    np.save(tmp_path / "z.npy", cloud.z)
    mapped = LatentCloud(np.load(tmp_path / "z.npy", mmap_mode="r"), cloud.mu, cloud.hw, cloud.mean, cloud.std,
                         cloud.pca)
    np.testing.assert_array_equal(samplers.draw_setting(sampler, mapped, seed=1, n=40),
                                  samplers.draw_setting(sampler, cloud, seed=1, n=40))


def test_drawing_before_fitting_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        samplers.MultivariateNormal(1.0).draw(np.random.default_rng(0), 3)


def test_names_and_labels():
    assert samplers.UniformIntervals(1.5).name == "intervals_fact_01.50"
    assert samplers.GaussianMixture(10).name == "mixture_k_10"
    assert samplers.GaussianMixture(3).name == "mixture_k_03"
    assert samplers.Neighbourhood(0.25, k=5).name == "neighbourhood_t_max_00.25"
    assert samplers.GaussianMixture(10).label == "Gaussian mixture, full covariances, k = 10"
    assert samplers.UniformBox(1.5).label == "uniform [-b, b], b = 1.5"
    assert "5 nearest" in samplers.Neighbourhood(0.5, k=5).label


SECTION = {"seed": 0, "n": 20,
           "uniform": {"b": [2.0, 1.0]}, "intervals": {"fact": [1.5, 0.5, 1.5]},
           "gaussian": {"scale": []}, "normal": {"scale": [1.0]}, "principal_axes": {"truncation": [3.0, 2.0]},
           "mixture": {"k": [10, 2], "fit_rows": 500, "max_iter": 50}, "neighbourhood": {"t_max": [0.5], "k": 4}}


def test_settings_from_params_sorted_named_and_deduplicated():
    settings = samplers.settings_from_params(SECTION)
    assert [s.name for s in settings] == [
        "uniform_b_01.00", "uniform_b_02.00", "intervals_fact_00.50", "intervals_fact_01.50",
        "normal_scale_01.00", "principal_axes_truncation_02.00", "principal_axes_truncation_03.00",
        "mixture_k_02", "mixture_k_10", "neighbourhood_t_max_00.50"]
    assert settings[7].options == {"fit_rows": 500, "max_iter": 50} and settings[-1].options == {"k": 4}
    # the old sections alone still work: missing kinds are off
    old = samplers.settings_from_params({"uniform": {"b": [2.0, 1.0]}, "intervals": {"fact": [1.5, 0.5, 1.5]}})
    assert [s.name for s in old] == ["uniform_b_01.00", "uniform_b_02.00", "intervals_fact_00.50",
                                     "intervals_fact_01.50"]
    with pytest.raises(ValueError, match=re.escape("sample.intervals.fact")):
        samplers.settings_from_params({"intervals": {"fact": [0.124, 0.121]}})  # both "intervals_fact_00.12"


def test_setting_rng_is_reproducible_and_independent_of_order(cloud):
    a, b = samplers.UniformIntervals(1.0), samplers.UniformBox(1.0)

    def first(s):
        return samplers.setting_rng(3, s).random(4)

    np.testing.assert_array_equal(first(a), first(a))
    assert not np.array_equal(first(a), first(b))
    assert not np.array_equal(first(a), samplers.setting_rng(4, a).random(4))
    # adding values to a list leaves the vectors of the other settings unchanged
    short = samplers.settings_from_params({"normal": {"scale": [1.0]}, "mixture": {"k": [2]}})
    longer = samplers.settings_from_params({"normal": {"scale": [2.0, 0.5, 1.0]}, "mixture": {"k": [3, 2]}})
    for s in short:
        twin = next(t for t in longer if t.name == s.name)
        np.testing.assert_array_equal(samplers.draw_setting(s, cloud, seed=0, n=30),
                                      samplers.draw_setting(twin, cloud, seed=0, n=30))


@pytest.mark.parametrize("kind, value, options, key", [
    ("uniform", 0.0, {}, "sample.uniform.b"),
    ("uniform", -1.0, {}, "sample.uniform.b"),
    ("intervals", 0, {}, "sample.intervals.fact"),
    ("gaussian", -0.5, {}, "sample.gaussian.scale"),
    ("normal", float("nan"), {}, "sample.normal.scale"),
    ("principal_axes", 0.0, {}, "sample.principal_axes.truncation"),
    ("principal_axes", "2", {}, "sample.principal_axes.truncation"),
    ("mixture", 0, {}, "sample.mixture.k"),
    ("mixture", 2.5, {}, "sample.mixture.k"),
    ("mixture", True, {}, "sample.mixture.k"),
    ("mixture", 2, {"fit_rows": 0}, "sample.mixture.fit_rows"),
    ("mixture", 2, {"max_iter": 1.5}, "sample.mixture.max_iter"),
    ("mixture", 2, {"n_init": 3}, "sample.mixture.n_init"),
    ("mixture_chosen", 2, {"standard_errors": 0.0}, "sample.mixture_chosen.standard_errors"),
    ("mixture_chosen", 2, {"validation_rows": 2.5}, "sample.mixture_chosen.validation_rows"),
    ("neighbourhood", 0.0, {}, "sample.neighbourhood.t_max"),
    ("neighbourhood", 1.5, {}, "sample.neighbourhood.t_max"),
    ("neighbourhood", 0.5, {"k": 0}, "sample.neighbourhood.k"),
    ("uniform", 1.0, {"k": 3}, "sample.uniform.k"),
])
def test_bad_values_name_their_key(kind, value, options, key):
    with pytest.raises(ValueError, match=re.escape(key)) as error:
        samplers.SAMPLERS[kind](value, **options)
    assert "\n" not in str(error.value)


def test_bad_values_from_params_name_their_key():
    with pytest.raises(ValueError, match=re.escape("sample.neighbourhood.t_max")):
        samplers.settings_from_params({"neighbourhood": {"t_max": [0.5, 2.0], "k": 3}})
    with pytest.raises(ValueError, match=re.escape("sample.mixture.fit_rows")):
        samplers.settings_from_params({"mixture": {"k": [2], "fit_rows": -1, "max_iter": 10}})


# --- which rows a density was fitted to (the `sample` stage scores a draw of them) ------------

def test_fitted_rows_are_the_seeded_subset_or_every_row(cloud):
    n = len(cloud.z)
    kde = fitted(samplers.KernelDensity(0.5, fit_rows=700), cloud)
    rows = kde.fitted_rows(n)
    np.testing.assert_array_equal(rows, kde.rows_)
    assert len(rows) == 700 and np.all(np.diff(rows) > 0) and rows.max() < n
    # the kernels sit exactly on those rows
    np.testing.assert_array_equal(kde.centres_, np.asarray(cloud.z, dtype=np.float64)[rows])
    np.testing.assert_array_equal(fitted(samplers.MultivariateNormal(1.0), cloud).fitted_rows(n), np.arange(n))
