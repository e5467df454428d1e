"""Per-component statistics against NumPy and against a naive histogram walk."""

import numpy as np
import pytest

from latentspace import stats


def naive_peak_halfwidth(values, w):
    """One component at a time, with np.histogram on explicit edges and a Python walk."""
    k_lo = int(np.floor(values.min() / w + 0.5))
    k_hi = int(np.floor(values.max() / w + 0.5))
    edges = (np.arange(k_lo, k_hi + 2) - 0.5) * w
    counts, _ = np.histogram(values, bins=edges)
    peak = int(np.argmax(counts))
    left = peak
    while left > 0 and 2 * counts[left - 1] >= counts[peak]:
        left -= 1
    right = peak
    while right < len(counts) - 1 and 2 * counts[right + 1] >= counts[peak]:
        right += 1
    return (k_lo + peak) * w, (right - left + 1) * w / 2


def test_moments_match_numpy_on_known_gaussians():
    rng = np.random.default_rng(1)
    means, stds = np.array([0.0, 3.0, -2.0, 100.0]), np.array([1.0, 0.5, 2.0, 0.01])
    z = (rng.normal(size=(50_000, 4)) * stds + means).astype(np.float32)
    mean, std = stats.component_moments(z, chunk_rows=7_000)
    np.testing.assert_allclose(mean, z.astype(np.float64).mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(std, z.astype(np.float64).std(axis=0), rtol=1e-9)
    np.testing.assert_allclose(mean, means, atol=0.03)
    np.testing.assert_allclose(std, stds, rtol=0.02)


def test_peak_and_halfwidth_match_naive_reference():
    rng = np.random.default_rng(2)
    # Gaussians, a skewed mixture and a two-peaked component whose runs end at dips.
    cols = [rng.normal(0.3, 1.0, 20_000), rng.normal(-1.7, 0.4, 20_000),
            rng.exponential(1.0, 20_000) - 0.5,
            np.concatenate([rng.normal(-3, 0.3, 10_000), rng.normal(3, 0.3, 10_000)])]
    z = np.stack(cols, axis=1)
    for w in (0.25, 0.1):
        centres, counts = stats.binned_counts(z, w, chunk_rows=3_333)
        mu, hw = stats.peak_and_halfwidth(centres, counts, w)
        for c in range(z.shape[1]):
            ref_mu, ref_hw = naive_peak_halfwidth(z[:, c], w)
            assert mu[c] == pytest.approx(ref_mu) and hw[c] == pytest.approx(ref_hw), (c, w)
        assert counts.sum(axis=1).tolist() == [len(z)] * z.shape[1]


def test_gaussian_halfwidth_is_hwhm_on_the_series_grids():
    z = np.random.default_rng(3).normal(0.5, 2.0, size=(400_000, 1))
    centres, counts = stats.binned_counts(z, 0.25)
    mu, hw = stats.peak_and_halfwidth(centres, counts, 0.25)
    assert mu[0] % 0.25 == 0 and hw[0] % 0.125 == 0  # the series' grids
    assert abs(mu[0] - 0.5) <= 0.25
    assert abs(hw[0] - 1.1774 * 2.0) <= 0.125 + 1e-12  # HWHM = sqrt(2 ln 2) sigma


def test_halfwidth_degenerate_constant_component():
    z = np.zeros((100, 2))
    z[:, 1] = np.linspace(-1, 1, 100)
    centres, counts = stats.binned_counts(z, 0.25)
    mu, hw = stats.peak_and_halfwidth(centres, counts, 0.25)
    assert mu[0] == 0 and hw[0] == 0.125  # a single bin: FWHM of one bin


def test_dominant_components_by_relative_thresholds():
    hw = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 1.0])
    mu = np.array([0.0, 0.5, -1.0, 0.2, 0.0, 0.9])
    dom = stats.dominant_components(mu, hw, hw_factor=1.5, mu_factor=1.0)
    assert dom.tolist() == [False, False, True, False, True, False]


def test_uniform_radius_formula_and_radii():
    dim, b = 256, 1.5
    rng = np.random.default_rng(4)
    r = stats.vector_radii(rng.uniform(-b, b, size=(20_000, dim)), chunk_rows=3_000)
    assert stats.expected_uniform_radius(1.0, 256) == pytest.approx(9.2376, abs=1e-4)
    assert np.sqrt((r**2).mean()) == pytest.approx(stats.expected_uniform_radius(b, dim), rel=2e-3)
    assert r.std() / r.mean() < 0.05  # concentrated: the series' "wrong lengths" argument


def test_common_histograms_share_bins_and_integrate_to_one():
    rng = np.random.default_rng(5)
    centres, dens = stats.common_histograms({"a": rng.normal(5, 1, 1000), "b": rng.normal(9, 1, 500)}, bins=30)
    width = centres[1] - centres[0]
    assert len(centres) == 30
    for d in dens.values():
        assert d.sum() * width == pytest.approx(1.0)


def test_binned_counts_rejects_bad_width():
    with pytest.raises(ValueError, match="bin_width"):
        stats.binned_counts(np.zeros((3, 2)), 0.0)


def test_wasserstein_against_sorted_samples_and_best_b():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 4000), rng.normal(0.5, 1, 4000)
    # naive reference for equal sizes: mean gap between the sorted samples
    assert stats.wasserstein_1d(a, b) == pytest.approx(np.abs(np.sort(a) - np.sort(b)).mean())
    assert stats.wasserstein_1d(a, a + 3.0) == pytest.approx(3.0)

    # real vectors: uniform [-1.2, 1.2] in 64 dimensions; of b in {0.5, 1, 1.5, 4}, b = 1 is nearest
    dim = 64
    real = stats.vector_radii(rng.uniform(-1.2, 1.2, (3000, dim)))
    uniform = {b: stats.vector_radii(rng.uniform(-b, b, (3000, dim))) for b in (0.5, 1.0, 1.5, 4.0)}
    best, distances = stats.best_matching_b(real, uniform)
    assert best == 1.0
    assert distances[1.0] == pytest.approx(0.2 * np.sqrt(dim / 3), rel=0.1)  # the RMS radii differ by 0.2 b-units


def test_uniform_label_names_the_series_as_the_legend_shows_it():
    assert stats.uniform_label(1.5) == "uniform b=1.5"
    assert stats.uniform_label(1.0) == "uniform b=1" and stats.uniform_label(2) == "uniform b=2"
    assert stats.uniform_label(0.25) == "uniform b=0.25"
