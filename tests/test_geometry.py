"""Principal axes and Mahalanobis distances on clouds with known answers."""

import numpy as np
import pytest

from latentspace import geometry
from latentspace.correlation import mean_and_covariance


def test_streamed_covariance_matches_numpy_over_many_chunks():
    rng = np.random.default_rng(0)
    z = (rng.normal(3.0, 1.0, (1000, 6)) @ rng.normal(size=(6, 6))).astype(np.float32)
    mean, cov = mean_and_covariance(z, chunk_rows=64)  # 16 chunks
    np.testing.assert_allclose(mean, z.astype(np.float64).mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(cov, np.cov(z.astype(np.float64), rowvar=False, bias=True), rtol=1e-9, atol=1e-12)


def known_normal(rng, n=60000):
    """A normal with variances 16, 4, 1, 0.25 along a random rotation, centred at `offset`."""
    variances = np.array([16.0, 4.0, 1.0, 0.25])
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    offset = np.array([3.0, -1.0, 2.0, 0.5])
    z = rng.normal(size=(n, 4)) * np.sqrt(variances) @ rotation.T + offset
    return z, variances, rotation, offset


def test_pca_recovers_the_spectrum_axes_and_centre():
    z, variances, rotation, offset = known_normal(np.random.default_rng(1))
    pca = geometry.principal_axes(z, chunk_rows=5000)
    np.testing.assert_allclose(pca.variances, variances, rtol=0.03)
    np.testing.assert_allclose(pca.mean, offset, atol=0.05)
    # each recovered axis is the true one up to sign; the sign rule makes the largest loading positive
    np.testing.assert_allclose(np.abs(np.sum(pca.axes * rotation, axis=0)), 1.0, atol=0.01)
    assert np.all(pca.axes[np.abs(pca.axes).argmax(axis=0), range(4)] > 0)
    np.testing.assert_allclose(pca.axes.T @ pca.axes, np.eye(4), atol=1e-12)
    # 16 / 21.25 = 0.753, (16 + 4) / 21.25 = 0.941, ... / 21.25 = 0.988
    assert [pca.axes_for(t) for t in (0.5, 0.9, 0.95, 0.99, 1.0)] == [1, 2, 3, 4, 4]


def test_mahalanobis_matches_the_naive_formula_and_places_the_origin():
    rng = np.random.default_rng(2)
    z, variances, rotation, offset = known_normal(rng)
    pca = geometry.principal_axes(z)
    mean, cov = z.mean(axis=0), np.cov(z, rowvar=False, bias=True)
    x = rng.normal(size=(50, 4)) * 3
    naive = np.sqrt(np.einsum("ij,jk,ik->i", x - mean, np.linalg.inv(cov), x - mean))
    np.testing.assert_allclose(pca.mahalanobis(x, chunk_rows=7), naive, rtol=1e-8)

    # the origin's distance under the true normal: |offset| in the whitened frame
    expected = np.linalg.norm(rotation.T @ offset / np.sqrt(variances))
    origin = pca.mahalanobis(np.zeros((1, 4)))[0]
    assert origin == pytest.approx(expected, rel=0.02)
    # real vectors' squared distances are chi-square with 4 degrees of freedom: P(d <= origin)
    real = pca.mahalanobis(z)
    chi2_cdf = 1 - np.exp(-origin**2 / 2) * (1 + origin**2 / 2)  # closed form for 4 dof
    assert geometry.fraction_within(real, origin) == pytest.approx(chi2_cdf, abs=0.01)


def test_flat_direction_gives_large_finite_distances():
    rng = np.random.default_rng(3)
    z = np.c_[rng.normal(size=(500, 2)), np.zeros(500)]  # no variance along the third axis
    pca = geometry.principal_axes(z)
    d = pca.mahalanobis(np.array([[0.0, 0.0, 1.0]]))
    assert np.isfinite(d).all() and d[0] > 1e5


def test_top_loadings_lists_the_heaviest_components():
    axes = np.array([[0.1, 0.8], [-0.9, 0.1], [0.4, -0.6]])
    rows = geometry.top_loadings(axes, n_axes=2, per_axis=2)
    assert rows == [(0, 0, 1, -0.9), (0, 1, 2, 0.4), (1, 0, 0, 0.8), (1, 1, 2, -0.6)]
