"""The RealNVP flow sampler (sample.flow) against known densities and its own inverse."""

import keras
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from latentspace.geometry import principal_axes
from latentspace.samplers.base import LatentCloud
from latentspace.samplers.flow import NormalizingFlow
from latentspace.samplers.flow_network import LOG_SCALE_BOUND

# a correlated, well-conditioned normal in 6 dimensions, off the origin
MEAN = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
_FACTOR = np.random.default_rng(7).normal(size=(6, 6))
COVARIANCE = _FACTOR @ _FACTOR.T / 6 + 0.1 * np.eye(6)
SMALL = {"hidden": 32, "batch_size": 128}


def cloud_of(z: np.ndarray) -> LatentCloud:
    z = np.asarray(z, dtype=np.float32)
    mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
    return LatentCloud(z, mean, std, mean, std, principal_axes(z))


def gaussian_rows(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(MEAN, COVARIANCE, size=n)


def numpy_of(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


@pytest.fixture(scope="module")
def gaussian_flow():
    """A 4-coupling flow trained on 4,000 rows of the known normal."""
    return NormalizingFlow(4, epochs=25, **SMALL).fit(cloud_of(gaussian_rows(4000, 0)), np.random.default_rng(0))


def affine_map_by_hand(d: int, orders: list, log_scales: np.ndarray, shifts: np.ndarray):
    """u = M x + c of couplings whose conditioners are constant: coupling i permutes by orders[i]
    (None: not), cuts after d // 2 components into (a, b) and returns (b * exp(log_scales[i]) + shifts[i], a)."""
    half = d // 2
    m, c = np.eye(d), np.zeros(d)
    to_front = np.eye(d)[np.concatenate([np.arange(half, d), np.arange(half)])]  # (a, b) -> (b, a)
    for order, log_scale, shift in zip(orders, log_scales, shifts):
        permute = np.eye(d) if order is None else np.eye(d)[order]
        step = to_front @ np.diag(np.concatenate([np.ones(half), np.exp(log_scale)])) @ permute
        m, c = step @ m, step @ c + np.concatenate([shift, np.zeros(half)])
    return m, c


def test_a_flow_with_constant_conditioners_is_the_affine_map_of_the_change_of_variables():
    d = 5  # odd: the halves differ in size
    z = np.random.default_rng(1).normal(size=(300, d)) * [1.0, 2.0, 0.5, 3.0, 1.5] + [0.0, 1.0, -1.0, 2.0, 0.5]
    flow = NormalizingFlow(2, epochs=1, **SMALL).fit(cloud_of(z), np.random.default_rng(0))
    network, changed = flow.network_, d - d // 2
    raw = np.random.default_rng(2).uniform(0.2, 1.5, size=(2, changed))  # log-scales > 0: every scale grows
    shifts = np.random.default_rng(3).normal(size=(2, changed))
    network.w_out.assign(np.zeros(network.w_out.shape, np.float32))
    network.b_out.assign(np.concatenate([raw, shifts], axis=1).astype(np.float32))
    m, c = affine_map_by_hand(d, network.orders_, LOG_SCALE_BOUND * np.tanh(raw / LOG_SCALE_BOUND), shifts)
    # two layers transform every component: each row of M has one entry, > 1
    assert np.all(np.sort(np.abs(m), axis=1)[:, -1] > 1.0) and np.count_nonzero(m) == d
    m = m @ numpy_of(network.whitening).astype(np.float64).T  # the couplings act on w = W^T x

    x = np.random.default_rng(4).normal(size=(50, d))
    u = x @ m.T + c
    by_hand = -0.5 * (u**2).sum(axis=1) - 0.5 * d * np.log(2 * np.pi) + np.linalg.slogdet(m)[1]
    np.testing.assert_allclose(numpy_of(network.log_density(x.astype(np.float32))), by_hand, atol=2e-4)
    # in latent units: z = shift_ + scale_ * x with x ~ N(-M^-1 c, (M^T M)^-1)
    m_inv = np.linalg.inv(m)
    implied = multivariate_normal(flow.shift_ + flow.scale_ * (-m_inv @ c),
                                  np.diag(flow.scale_) @ m_inv @ m_inv.T @ np.diag(flow.scale_))
    zq = flow.shift_ + flow.scale_ * x
    np.testing.assert_allclose(flow.log_likelihood(zq), implied.logpdf(zq), atol=2e-4)
    np.testing.assert_allclose(flow.log_likelihood(zq, chunk_rows=7), flow.log_likelihood(zq), atol=1e-4)


def test_a_flow_whose_couplings_are_a_permutation_is_the_normal_fitted_to_its_rows():
    z = gaussian_rows(3000, 10)
    flow = NormalizingFlow(2, epochs=1, fit_rows=1000, **SMALL).fit(cloud_of(z), np.random.default_rng(0))
    for stack in (flow.network_.w_out, flow.network_.b_out):  # every coupling's scale 1 and shift 0
        stack.assign(np.zeros(stack.shape, np.float32))
    rows = np.asarray(z, dtype=np.float32)[flow.rows_].astype(np.float64)
    fitted = multivariate_normal(rows.mean(axis=0), np.cov(rows, rowvar=False, ddof=0))
    queries = gaussian_rows(200, 11)
    np.testing.assert_allclose(flow.log_likelihood(queries), fitted.logpdf(queries), atol=1e-3)


def test_a_flow_fitted_to_a_normal_recovers_it(gaussian_flow):
    z = gaussian_flow.draw(np.random.default_rng(5), 20_000).astype(np.float64)
    sd = np.sqrt(np.diag(COVARIANCE))
    assert np.all(np.abs(z.mean(axis=0) - MEAN) < 0.1 * sd), z.mean(axis=0)
    np.testing.assert_allclose(np.cov(z, rowvar=False), COVARIANCE, atol=0.1 * COVARIANCE.max())
    held_out = gaussian_rows(4000, 1)
    true_mean_ll = multivariate_normal(MEAN, COVARIANCE).logpdf(held_out).mean()
    assert abs(gaussian_flow.log_likelihood(held_out).mean() - true_mean_ll) < 0.05 * len(MEAN)
    assert gaussian_flow.loss_history_[-1] < gaussian_flow.loss_history_[0]


def test_the_inverse_undoes_the_forward_map_and_makes_the_draws(gaussian_flow):
    network = gaussian_flow.network_
    x = ((gaussian_rows(1000, 2) - gaussian_flow.shift_) / gaussian_flow.scale_).astype(np.float32)
    u, _ = network.forward(x)
    assert np.abs(numpy_of(u) - x).max() > 0.5  # the trained flow is far from a permutation of x
    np.testing.assert_allclose(numpy_of(network.inverse(u)), x, atol=2e-5 * np.abs(x).max())
    eps = np.random.default_rng(6).standard_normal((10, 6)).astype(np.float32)
    expected = numpy_of(network.inverse(eps)) * gaussian_flow.scale_ + gaussian_flow.shift_
    np.testing.assert_allclose(gaussian_flow.draw(np.random.default_rng(6), 10), expected, rtol=1e-6, atol=1e-6)


def test_draws_are_finite_float32_of_the_right_shape(gaussian_flow):
    for n in (0, 1, 5000):
        z = gaussian_flow.draw(np.random.default_rng(7), n)
        assert z.shape == (n, 6) and z.dtype == np.float32 and np.all(np.isfinite(z))


def test_same_seed_same_flow_and_draws_another_seed_others():
    cloud = cloud_of(gaussian_rows(500, 3))

    def fit(seed):
        return NormalizingFlow(2, epochs=2, **SMALL).fit(cloud, np.random.default_rng(seed))

    first, again, other = fit(0), fit(0), fit(1)
    assert first.loss_history_ == again.loss_history_
    draws = first.draw(np.random.default_rng(8), 100)
    np.testing.assert_array_equal(again.draw(np.random.default_rng(8), 100), draws)
    assert np.abs(first.draw(np.random.default_rng(9), 100) - draws).min() > 0
    assert np.abs(other.draw(np.random.default_rng(8), 100) - draws).max() > 1e-3


def test_a_one_component_latent_space_is_refused():
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        NormalizingFlow(2).fit(cloud_of(gaussian_rows(50, 4)[:, :1]), np.random.default_rng(0))
