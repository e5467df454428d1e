"""Bootstrap intervals: the replicates against naive recomputation, and coverage of known truths."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from latentspace import bootstrap, evaluation, neighbours, quality


def test_replicates_equal_the_metric_recomputed_on_the_drawn_rows():
    rng = np.random.default_rng(0)
    reference, vectors = rng.normal(size=(60, 3)), rng.normal(0.3, 1.2, size=(40, 3))
    resampling = bootstrap.Resampling.draw(7, len(reference), 5)
    radii = evaluation.reference_radii(reference, k_precision=3, k_density=5)
    metrics, replicates = evaluation.set_quality_replicates(
        reference, vectors, k_precision=3, k_density=5, reference_radii=radii, resampling=resampling,
        reference_normal=bootstrap.ReferenceNormal.of(reference))
    assert metrics == pytest.approx(evaluation.set_quality(reference, vectors, k_precision=3, k_density=5))
    rows = quality.support_rows(reference, vectors, k_precision=3, k_density=5)
    set_rows = resampling.set_rows(len(vectors))
    for b in range(5):
        ref_b, set_b = resampling.reference_rows[b], set_rows[b]
        assert replicates["precision"][b] == pytest.approx(rows["precision"][set_b].mean())
        assert replicates["density"][b] == pytest.approx(rows["density"][set_b].mean())
        assert replicates["recall"][b] == pytest.approx(rows["recall"][ref_b].mean())
        assert replicates["coverage"][b] == pytest.approx(rows["coverage"][ref_b].mean())


def test_the_drawn_rows_depend_on_the_seed_and_size_only():
    a, b = bootstrap.Resampling.draw(3, 50, 10), bootstrap.Resampling.draw(3, 50, 10)
    np.testing.assert_array_equal(a.reference_rows, b.reference_rows)
    np.testing.assert_array_equal(a.set_rows(20), b.set_rows(20))
    assert a.set_rows(20).shape == (10, 20) and a.set_rows(20).max() < 20
    assert not np.array_equal(a.reference_rows, bootstrap.Resampling.draw(4, 50, 10).reference_rows)


def test_copy_replicates_match_copy_summary_on_each_drawn_set():
    rng = np.random.default_rng(1)
    generated, real = rng.exponential(size=30), rng.exponential(size=50)
    rows = rng.integers(30, size=(4, 30))
    reps = neighbours.copy_replicates(generated, real, rows, quantile=0.1)
    for b in range(4):
        assert {k: v[b] for k, v in reps.items()} == pytest.approx(
            neighbours.copy_summary(generated[rows[b]], real, quantile=0.1))


def coverage_rate(trials: int, level: float, one_trial) -> float:
    hits = 0
    for t in range(trials):
        low, high, truth = one_trial(np.random.default_rng(100 + t))
        hits += low <= truth <= high
    return hits / trials


def test_a_share_interval_covers_the_true_probability_at_its_level():
    """In-core and near-copy shares are means of indicators: on N(0, 1) draws, the share inside
    [-1, 1] has the known probability 0.6827; 90% intervals must hold it in about 90% of trials."""
    truth = scipy_stats.norm.cdf(1) - scipy_stats.norm.cdf(-1)

    def trial(rng):
        inside = quality.within(rng.normal(size=300), -1.0, 1.0)
        rows = bootstrap.Resampling.draw(int(rng.integers(1 << 30)), 300, 200).reference_rows
        reps = bootstrap.mean_replicates(inside, rows)
        return (*bootstrap.percentile_interval(reps, 0.9), truth)

    rate = coverage_rate(300, 0.9, trial)
    assert 0.85 <= rate <= 0.95, rate  # 300 trials: the rate's standard error is 0.017


def exact_and_linearised_replicates(reference, vectors, resamples, seed=0):
    resampling = bootstrap.Resampling.draw(seed, len(reference), resamples)
    set_rows = resampling.set_rows(len(vectors))
    distance, on_vectors, on_reference = bootstrap.frechet_influences(bootstrap.ReferenceNormal.of(reference), vectors)
    linear = (distance + bootstrap.mean_replicates(on_vectors, set_rows)
              + bootstrap.mean_replicates(on_reference, resampling.reference_rows))
    exact = np.array([quality.frechet_distance_of(reference[r], vectors[s])
                      for r, s in zip(resampling.reference_rows, set_rows)])
    return distance, linear, exact


def test_frechet_influences_sum_to_zero_and_match_finite_differences():
    """A row's influence is the derivative of the distance when that row's weight grows: checked
    against the weighted-normal distance recomputed with the weight nudged by 1e-6."""
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    vectors = rng.normal(0.5, 1.3, size=(150, 4))
    distance, on_vectors, on_reference = bootstrap.frechet_influences(bootstrap.ReferenceNormal.of(reference), vectors)
    assert distance == pytest.approx(quality.frechet_distance_of(reference, vectors))
    assert abs(on_vectors.mean()) < 1e-9 and abs(on_reference.mean()) < 1e-9
    assert np.abs(on_vectors).max() > 0.1  # not trivially zero

    def weighted(x, w):  # mean and plug-in covariance under row weights w (sum 1), rescaled to ddof=1
        m = w @ x
        return m, (x - m).T @ ((x - m) * w[:, None]) * len(x) / (len(x) - 1)

    for i in (0, 7, 42):
        eps = 1e-6
        w = np.full(len(vectors), 1.0 / len(vectors))
        w = (1 - eps) * w + eps * np.eye(len(vectors))[i]
        m1, c1 = weighted(reference, np.full(len(reference), 1.0 / len(reference)))
        m2, c2 = weighted(vectors, w)
        derivative = (quality.frechet_distance(m1, c1, m2, c2) - distance) / eps
        assert derivative == pytest.approx(on_vectors[i], rel=0.02, abs=1e-3)  # ddof=1: a factor 1 + 1/150


def test_linearised_frechet_replicates_follow_the_exact_ones():
    """In 16-D with 1,000 vectors a side, the replicates from the influences track the distances
    recomputed on the drawn rows (minus the overshoot that repeated rows add to those)."""
    rng = np.random.default_rng(6)
    mix = rng.normal(size=(16, 16)) / 4
    reference = rng.normal(size=(1000, 16)) @ mix
    vectors = rng.normal(0.1, 1.1, size=(1000, 16)) @ mix
    _, linear, exact = exact_and_linearised_replicates(reference, vectors, 60)
    assert np.corrcoef(linear, exact)[0, 1] > 0.9
    assert 0.8 < linear.std() / exact.std() < 1.25


def test_a_frechet_interval_covers_the_distance_between_the_true_normals():
    """Two 2-D normals with a known Fréchet distance; 1,000 vectors each keep the estimator's bias
    far below its spread, so 90% intervals hold the true distance about 90% of the time."""
    mean2, cov2 = np.array([0.5, -0.2]), np.array([[1.5, 0.3], [0.3, 0.8]])
    truth = quality.frechet_distance(np.zeros(2), np.eye(2), mean2, cov2)

    def trial(rng):
        reference = rng.normal(size=(1000, 2))
        vectors = rng.multivariate_normal(mean2, cov2, size=1000)
        resampling = bootstrap.Resampling.draw(int(rng.integers(1 << 30)), 1000, 200)
        distance, on_vectors, on_reference = bootstrap.frechet_influences(bootstrap.ReferenceNormal.of(reference),
                                                                          vectors)
        reps = (distance + bootstrap.mean_replicates(on_vectors, resampling.set_rows(1000))
                + bootstrap.mean_replicates(on_reference, resampling.reference_rows))
        return (*bootstrap.percentile_interval(reps, 0.9), truth)

    rate = coverage_rate(200, 0.9, trial)
    assert 0.84 <= rate <= 0.96, rate  # 200 trials: the rate's standard error is 0.02


def test_paired_differences_separate_a_real_gap_from_none():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(800, 2))
    sets = {"same_a": rng.normal(size=(800, 2)), "same_b": rng.normal(size=(800, 2)),
            "shifted": rng.normal(0.4, 1.0, size=(800, 2))}
    resampling = bootstrap.Resampling.draw(0, len(reference), 200)
    normal = bootstrap.ReferenceNormal.of(reference)
    reps, values = {}, {}
    for i, (name, v) in enumerate(sets.items()):
        values[name], on_v, on_ref = bootstrap.frechet_influences(normal, v)
        reps[name] = (values[name] + bootstrap.mean_replicates(on_v, np.random.default_rng([9, i]).integers(800, size=(200, 800)))
                      + bootstrap.mean_replicates(on_ref, resampling.reference_rows))
    table = {(a, b): row for a, b, row in bootstrap.pairwise_differences(reps, values, 0.9)}
    assert len(table) == 6 and table[("same_a", "same_b")][0] == pytest.approx(values["same_a"] - values["same_b"])
    low, high = table[("same_a", "same_b")][1:]
    assert low < 0 < high  # two draws of one distribution: no difference beyond the noise
    low, high = table[("shifted", "same_a")][1:]
    assert 0 < low < high  # a shift of 0.4 in 2-D: worse beyond the noise


def test_percentile_interval_ends():
    assert bootstrap.percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
