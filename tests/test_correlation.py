"""Correlations and the series' pair counts against np.corrcoef and naive double loops."""

import numpy as np
import pytest

from latentspace import correlation


def correlated_data(n=3_000, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim))
    x[:, 3] = 0.8 * x[:, 1] + 0.6 * x[:, 3]          # r ~ 0.8
    x[:, 7] = -0.55 * x[:, 2] + 0.835 * x[:, 7]      # r ~ -0.55
    x[:, 9] = 0.3 * x[:, 5] + 0.954 * x[:, 9]        # r ~ 0.3
    return (x * np.linspace(0.5, 3, dim) + 10.0).astype(np.float32)  # offset tests cancellation


def series_count(r, t):
    """The series' own count: ((|r| > t).sum() - n) / 2."""
    return int(((np.abs(r) > t).sum() - r.shape[0]) / 2)


def series_pairs(r, t):
    """The series' double loop that skips a pair seen in the other order."""
    seen, out = set(), []
    for i in range(r.shape[0]):
        for j in range(r.shape[0]):
            if j != i and abs(r[i, j]) > t and (i, j) not in seen:
                seen.add((j, i))
                out.append((i, j, r[i, j]))
    return out


def test_streaming_pearson_equals_corrcoef_for_any_chunk_size():
    z = correlated_data()
    ref = np.corrcoef(z.astype(np.float64), rowvar=False)
    for chunk in (1_000_000, 1000, 7):
        np.testing.assert_allclose(correlation.pearson(z, chunk_rows=chunk), ref, atol=1e-10)


def test_pair_counts_match_the_series_formula():
    r = correlation.pearson(correlated_data())
    thresholds = [0.0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.9]
    counts = correlation.count_pairs_above(r, thresholds)
    assert counts == {t: series_count(r, t) for t in thresholds}
    assert counts[0.5] == 2 and counts[0.9] == 0  # the two planted strong pairs


def naive_count_error(sample, full):
    """The largest |sample - full| / full, one threshold at a time, leaving out those without an exact pair."""
    worst = 0.0
    for t in full:
        if full[t] > 0:
            worst = max(worst, abs(sample[t] - full[t]) / full[t])
    return worst


def test_count_error_is_the_worst_relative_error_where_the_exact_count_has_pairs():
    # 12 vs 10: 0.2; 3 vs 4: 0.25; 1 pair where there is none: left out, not infinite
    assert correlation.count_error({0.1: 12, 0.5: 3, 0.9: 1}, {0.1: 10, 0.5: 4, 0.9: 0}) == 0.25
    assert correlation.count_error({0.1: 10, 0.5: 4}, {0.1: 10, 0.5: 4}) == 0.0  # exact
    assert correlation.count_error({0.1: 0, 0.5: 2}, {0.1: 1, 0.5: 1}) == 1.0
    # no threshold with an exact pair: 0.0, also for no thresholds at all
    assert correlation.count_error({0.5: 3, 0.9: 1}, {0.5: 0, 0.9: 0}) == 0.0
    assert correlation.count_error({}, {}) == 0.0
    assert isinstance(correlation.count_error({0.1: 12}, {0.1: 10}), float)


def test_count_error_of_a_sample_against_the_naive_loop():
    z = correlated_data(n=4000)
    r_full = correlation.pearson(z)
    thresholds = [0.02, 0.05, 0.1, 0.3, 0.5, 0.9]  # 0.9: no exact pair
    full = correlation.count_pairs_above(r_full, thresholds)
    assert full[0.9] == 0 and full[0.02] > full[0.05] > 0
    for m in (100, 300, 1000):
        r_m = correlation.pearson(z[correlation.sample_rows(np.random.default_rng(m), len(z), m)])
        sample = correlation.count_pairs_above(r_m, thresholds)
        assert correlation.count_error(sample, full) == pytest.approx(naive_count_error(sample, full), abs=1e-15)
    assert correlation.count_error(full, full) == 0.0


def test_pairs_above_match_the_series_double_loop():
    r = correlation.pearson(correlated_data())
    for t in (0.5, 0.2, 0.02):
        ours = correlation.pairs_above(r, t)
        ref = series_pairs(r, t)
        assert [(i, j) for i, j, _ in ours] == [(i, j) for i, j, _ in ref]
        np.testing.assert_allclose([v for *_, v in ours], [v for *_, v in ref])
    assert [(i, j) for i, j, _ in correlation.pairs_above(r, 0.5)] == [(1, 3), (2, 7)]


def test_top_pairs_strongest_first():
    r = correlation.pearson(correlated_data())
    top = correlation.top_pairs(r, 3)
    assert [(i, j) for i, j, _ in top] == [(1, 3), (2, 7), (5, 9)]
    assert top[1][2] < 0


def test_constant_component_warns_and_is_uncorrelated():
    z = correlated_data()
    z[:, 2] = 4.0
    with pytest.warns(RuntimeWarning, match="constant"):
        r = correlation.pearson(z)
    assert r[2, 2] == 1 and np.all(np.delete(r[2], 2) == 0) and np.all(np.delete(r[:, 2], 2) == 0)
    assert not np.isnan(r).any()


def test_sample_rows_without_replacement_and_reproducible():
    idx = correlation.sample_rows(np.random.default_rng(7), 100, 60)
    assert len(set(idx.tolist())) == 60 and idx.min() >= 0 and idx.max() < 100
    np.testing.assert_array_equal(idx, correlation.sample_rows(np.random.default_rng(7), 100, 60))
    with pytest.raises(ValueError, match="correlate.M"):
        correlation.sample_rows(np.random.default_rng(0), 100, 101)


def test_slice_rows_matches_naive_selection():
    rng = np.random.default_rng(8)
    z = rng.normal(scale=1.2, size=(2000, 6))
    sel = correlation.slice_rows(z, (1, 4), 2.0)
    ref = [k for k in range(len(z)) if all(abs(z[k, c]) < 2.0 for c in range(6) if c not in (1, 4))]
    assert sel.tolist() == ref
    assert 0 < len(sel) < len(z)


def test_sample_size_curve_against_direct_samples_and_exact_end():
    z = correlated_data(n=4000)
    r_full = correlation.pearson(z)
    thresholds = [0.2, 0.5]
    curve = correlation.sample_size_curve(z, r_full, [1000, 200, 4000, 200], thresholds, np.random.default_rng(3),
                                          chunk_rows=333)
    assert curve["M"].tolist() == [200, 1000, 4000]
    order = np.random.default_rng(3).permutation(4000)
    upper = np.triu_indices(12, k=1)
    for k, m in enumerate(curve["M"]):
        r_m = np.corrcoef(z[order[:m]].astype(np.float64), rowvar=False)  # nested prefixes of one permutation
        assert curve["pairs"][k].tolist() == [series_count(r_m, t) for t in thresholds]
        err = np.abs(r_m - r_full)[upper]
        assert curve["max_abs"][k] == pytest.approx(err.max(), abs=1e-9)
        assert curve["median_abs"][k] == pytest.approx(np.median(err), abs=1e-9)
    # all vectors: exact; the planted pairs are found; the error shrinks roughly like 1/sqrt(M)
    assert curve["max_abs"][-1] == 0 and curve["pairs"][-1].tolist() == [3, 2]
    assert 0.2 / np.sqrt(200) < curve["median_abs"][0] < 3 / np.sqrt(200)
    assert curve["median_abs"][1] < curve["median_abs"][0]


def test_sample_size_curve_rejects_sizes_outside_the_data():
    z = correlated_data(n=100)
    with pytest.raises(ValueError, match="between 2 and the number of vectors"):
        correlation.sample_size_curve(z, correlation.pearson(z), [50, 101], [0.5], np.random.default_rng(0))
