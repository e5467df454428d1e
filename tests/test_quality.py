"""Sample-quality metrics against hand-computed answers, a naive double-loop reference and
closed forms of the Frechet distance between normals."""

import numpy as np
import pytest
import scipy.linalg

from latentspace import quality


def naive_prdc(real, fake, k):
    """Precision, recall, density and coverage straight from their definitions, pair by pair."""
    def radii(x):
        return [sorted(np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i)[k - 1] for i in range(len(x))]

    r_real, r_fake = radii(real), radii(fake)
    d = [[np.linalg.norm(real[i] - fake[j]) for j in range(len(fake))] for i in range(len(real))]
    n, m = len(real), len(fake)
    precision = sum(any(d[i][j] <= r_real[i] for i in range(n)) for j in range(m)) / m
    recall = sum(any(d[i][j] <= r_fake[j] for j in range(m)) for i in range(n)) / n
    density = sum(d[i][j] < r_real[i] for i in range(n) for j in range(m)) / (k * m)
    coverage = sum(any(d[i][j] < r_real[i] for j in range(m)) for i in range(n)) / n
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def prdc(real, fake, k):
    return quality.precision_recall(real, fake, k=k) | quality.density_coverage(real, fake, k=k)


def test_hand_computed_line_example_separates_inclusive_and_strict_balls():
    # real radii for k=1: 1, 1, 1, 1 and 5 (-5's nearest other is 0); fake radii: 2.4, 1.1, 1.1, 6
    real = np.array([[0.0], [1.0], [2.0], [3.0], [-5.0]])
    fake = np.array([[0.5], [2.9], [10.0], [4.0]])
    got = prdc(real, fake, 1)
    # 4.0 lies exactly on the edge of 3's ball: inside for precision (<=), outside for density (<)
    assert got["precision"] == 3 / 4
    assert got["recall"] == 4 / 5  # -5 is 5.5 from 0.5, whose ball has radius 2.4
    assert got["density"] == (2 + 2 + 0 + 0) / (1 * 4)  # 0.5 in the balls of 0 and 1; 2.9 of 2 and 3
    assert got["coverage"] == 4 / 5  # -5's ball (radius 5) holds no fake: 0.5 is 5.5 away
    # recall's balls are inclusive too: 2.0 lies exactly on the edge of fake 1.0's ball (radius 1)
    assert quality.precision_recall(np.array([[2.0], [5.0]]), np.array([[0.0], [1.0]]), k=1) == {
        "precision": 1.0, "recall": 0.5}
    # k=2: real radii 2, 1, 1, 2, 6: 0.5 in the balls of 0, 1 and -5; 2.9 in those of 2 and 3; 4.0 in 3's
    assert quality.density_coverage(real, fake, k=2) == {"density": (3 + 2 + 0 + 1) / (2 * 4), "coverage": 1.0}


@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_the_naive_double_loop_exactly_on_random_clouds(k, monkeypatch):
    # tiny blocks so the cross distances come in many pieces
    monkeypatch.setattr(quality, "_BLOCK_ENTRIES", 97)
    rng = np.random.default_rng(k)
    real = rng.normal(size=(40, 4))
    fake = np.concatenate([rng.normal(0.5, 1.3, size=(25, 4)), real[:5]])  # copies sit on the edges of balls
    real[7] = real[3]  # a duplicate: radius 0 for k=1
    # equal up to rounding: density is a mean of counts / k, the naive loop's a total / (k n)
    assert prdc(real, fake, k) == pytest.approx(naive_prdc(real, fake, k), rel=1e-12, abs=0)
    wide = rng.normal(size=(30, 16)).astype(np.float32)
    assert prdc(wide, wide[::2] * 1.1 + 0.1, k) == pytest.approx(
        naive_prdc(wide.astype(np.float64), wide[::2] * 1.1 + 0.1, k), rel=1e-12, abs=0)
    # one pass with two neighbourhood sizes: each pair of metrics as its own k defines it
    both = quality.support_metrics(real, fake, k_precision=k, k_density=k + 1)
    wanted = naive_prdc(real, fake, k + 1)
    assert both == pytest.approx({**naive_prdc(real, fake, k), "density": wanted["density"],
                                  "coverage": wanted["coverage"]}, rel=1e-12, abs=0)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_identical_sets_score_one(k):
    x = np.random.default_rng(0).normal(size=(300, 8))
    # density is exactly 1: a real ball, strictly smaller than the distance to the k-th
    # neighbour, holds the vector's own copy and its k - 1 nearest others: k of n fakes per ball
    assert prdc(x, x.copy(), k) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_far_apart_sets_score_zero():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(100, 5)), rng.normal(size=(80, 5)) + 100.0
    assert prdc(real, fake, 3) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_subset_of_real_is_precise_but_misses_the_rest():
    real = np.random.default_rng(2).normal(size=(400, 3))
    got = prdc(real, real[:40], 3)
    assert got["precision"] == 1.0
    assert got["recall"] < 1.0
    # every copy lies at distance 0 inside its own real ball
    assert 40 / 400 <= got["coverage"] < 1.0


def test_fake_vectors_crowded_into_the_core_are_precise_but_not_diverse():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(1000, 2))
    fake = rng.normal(scale=0.15, size=(1000, 2))
    got = prdc(real, fake, 5)
    assert got["precision"] > 0.95
    assert got["recall"] < 0.2 and got["coverage"] < 0.2
    # density measures fidelity, not spread: a point anywhere in the real support lies in
    # about k real balls (small ones where real vectors are dense), so it stays near 1
    assert 0.8 < got["density"] < 1.3


def test_larger_k_gives_larger_balls_so_never_lower_shares():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(300, 3)), rng.normal(0.7, 1.4, size=(200, 3))
    scores = [prdc(real, fake, k) for k in (1, 2, 4, 8, 16)]
    for key in ("precision", "recall", "coverage"):
        values = [s[key] for s in scores]
        assert values == sorted(values) and values[0] < values[-1], key
    radii = [quality.kth_neighbour_radii(real, k=k) for k in (1, 2, 4)]
    assert np.all(radii[0] <= radii[1]) and np.all(radii[1] <= radii[2])


def test_metrics_are_reproducible_and_ignore_row_order():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(200, 6)), rng.normal(0.3, 1.2, size=(150, 6))
    first = prdc(real, fake, 3)
    assert prdc(real, fake, 3) == first
    assert prdc(real[rng.permutation(200)], fake[rng.permutation(150)], 3) == first
    assert quality.frechet_distance_of(real, fake) == quality.frechet_distance_of(real, fake)


def test_bad_shapes_and_k_are_rejected():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="latent_dim"):
        quality.precision_recall(x, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="at least 4 real and 4 fake"):
        quality.precision_recall(x, np.zeros((3, 3)), k=3)
    with pytest.raises(ValueError, match="at least 6 real"):
        quality.density_coverage(x[:5], x, k=5)
    with pytest.raises(ValueError, match="k = 0"):
        quality.density_coverage(x, x, k=0)
    with pytest.raises(ValueError, match="finite"):
        quality.density_coverage(x, np.full((2, 3), np.nan), k=2)
    # density and coverage need only one fake vector
    assert quality.density_coverage(np.arange(6.0)[:, None], np.array([[2.5]]), k=1) == {"density": 2.0,
                                                                                        "coverage": 2 / 6}


def closed_form_diagonal(m1, v1, m2, v2):
    return np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)


def test_frechet_distance_of_commuting_covariances_has_the_closed_form():
    rng = np.random.default_rng(6)
    m1, m2 = rng.normal(size=7), rng.normal(size=7)
    v1, v2 = rng.uniform(0.1, 4, 7), rng.uniform(0.1, 4, 7)
    got = quality.frechet_distance(m1, np.diag(v1), m2, np.diag(v2))
    assert got == pytest.approx(closed_form_diagonal(m1, v1, m2, v2), rel=1e-12)
    # the same normals in a rotated frame: the distance is rotation-invariant
    q, _ = np.linalg.qr(rng.normal(size=(7, 7)))
    assert quality.frechet_distance(q @ m1, q @ np.diag(v1) @ q.T, q @ m2, q @ np.diag(v2) @ q.T) == pytest.approx(
        got, rel=1e-10)


def test_frechet_distance_in_one_dimension_and_of_identical_normals():
    # N(1, 2^2) vs N(-2, 5^2): (1 + 2)^2 + (2 - 5)^2
    assert quality.frechet_distance([1.0], [[4.0]], [-2.0], [[25.0]]) == pytest.approx(18.0, rel=1e-14)
    rng = np.random.default_rng(7)
    a = rng.normal(size=(30, 30))
    cov, mean = a @ a.T, rng.normal(size=30)
    assert quality.frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-9 * np.trace(cov))


def test_frechet_distance_matches_scipy_sqrtm_on_a_random_spd_pair():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(12, 12)), rng.normal(size=(12, 12))
    c1, c2 = a @ a.T + 0.1 * np.eye(12), b @ b.T + 0.1 * np.eye(12)
    m1, m2 = rng.normal(size=12), rng.normal(size=12)
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert quality.frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-9)
    assert quality.frechet_distance(m2, c2, m1, c1) == pytest.approx(expected, rel=1e-9)


def test_nearly_singular_covariances_stay_finite_and_non_negative():
    rng = np.random.default_rng(9)
    v = rng.normal(size=(50, 2))
    c1 = v @ v.T + 1e-13 * np.eye(50)  # rank 2 up to rounding
    c2 = c1 + 1e-9 * np.outer(v[:, 0], v[:, 0])
    for cov_a, cov_b in [(c1, c1), (c1, c2), (c2, c1)]:
        got = quality.frechet_distance(np.zeros(50), cov_a, np.zeros(50), cov_b)
        assert np.isfinite(got) and 0.0 <= got < 1e-5
    # fewer samples than dimensions: singular sample covariances
    few = rng.normal(size=(10, 40))
    assert quality.frechet_distance_of(few, few) == pytest.approx(0.0, abs=1e-6)
    assert quality.frechet_distance_of(few, few + 1.0) == pytest.approx(40.0, rel=1e-6)


def test_frechet_distance_of_few_wide_vectors_agrees_with_the_covariance_route():
    # fewer vectors than dimensions: frechet_distance_of takes the SVD of the centred data
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=(20, 60)), rng.normal(0.2, 1.5, size=(30, 60)) @ rng.normal(size=(60, 60)) / 8
    by_cov = quality.frechet_distance(a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False))
    assert quality.frechet_distance_of(a, b) == pytest.approx(by_cov, rel=1e-6)
    assert quality.frechet_distance_of(b, a) == pytest.approx(by_cov, rel=1e-6)


def test_frechet_distance_of_large_samples_approaches_the_closed_form():
    rng = np.random.default_rng(10)
    m1, m2, v1, v2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0]), np.array([1.0, 4.0, 0.25]), np.ones(3)
    a = rng.normal(m1, np.sqrt(v1), size=(200_000, 3))
    b = rng.normal(m2, np.sqrt(v2), size=(200_000, 3))
    # closed form: 1 + 0 + 4 + 0 + 1 + 0.25 = 6.25
    assert quality.frechet_distance_of(a, b) == pytest.approx(closed_form_diagonal(m1, v1, m2, v2), rel=0.01)
    with pytest.raises(ValueError, match="at least 2 rows"):
        quality.frechet_distance_of(a[:1], b)
    with pytest.raises(ValueError, match="covariances"):
        quality.frechet_distance(m1, np.eye(2), m2, np.eye(3))


def test_mahalanobis_range_and_fraction_within_on_known_data():
    d = np.arange(1001.0)  # 0, 1, ..., 1000
    assert quality.mahalanobis_range(d, quantile=0.9) == pytest.approx((50.0, 950.0), rel=1e-12)
    assert quality.mahalanobis_range(d, quantile=1.0) == (0.0, 1000.0)
    assert quality.fraction_within(d, 50.0, 950.0) == 901 / 1001  # both ends count
    assert quality.fraction_within(np.array([1.0, 2.0, 3.0, 4.0]), 2.0, 3.0) == 0.5
    # held-out distances: about `quantile` of a fresh draw from the same law falls in the range
    rng = np.random.default_rng(11)
    low, high = quality.mahalanobis_range(np.linalg.norm(rng.normal(size=(20000, 8)), axis=1), quantile=0.99)
    assert quality.fraction_within(np.linalg.norm(rng.normal(size=(20000, 8)), axis=1), low, high) == pytest.approx(
        0.99, abs=0.003)
    with pytest.raises(ValueError, match="quantile"):
        quality.mahalanobis_range(d, quantile=0.0)
    with pytest.raises(ValueError, match="low <= high"):
        quality.fraction_within(d, 2.0, 1.0)


def test_nearest_distances_match_brute_force():
    rng = np.random.default_rng(12)
    real, fake = rng.normal(size=(300, 10)).astype(np.float32), rng.normal(size=(70, 10)).astype(np.float32)
    fake[:3] = real[[5, 17, 200]]  # exact copies: distance 0
    brute = np.linalg.norm(fake[:, None, :].astype(np.float64) - real[None].astype(np.float64), axis=2).min(axis=1)
    got = quality.nearest_distances(real, fake)
    assert got.shape == (70,)
    np.testing.assert_allclose(got, brute, rtol=1e-12)
    assert np.all(got[:3] == 0.0)
    with pytest.raises(ValueError, match="same width"):
        quality.nearest_distances(real, fake[:, :5])
