"""Nearest real vectors of generated ones against a naive brute force, the self-excluded
real reference, and the `neighbours` stage end to end on a tiny untrained model."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import stage_helpers
from PIL import Image
from stage_helpers import save_tiny_autoencoder, write_params

from latentspace import neighbours, sample_sets


def naive_knn(real, queries, k, exclude=None):
    """Every distance in float64, self set to infinity, a full stable sort."""
    d = np.linalg.norm(queries[:, None, :].astype(np.float64) - real[None].astype(np.float64), axis=2)
    if exclude is not None:
        d[np.arange(len(queries)), exclude] = np.inf
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


def test_nearest_real_matches_brute_force_over_several_chunks():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(700, 16)).astype(np.float32)
    queries = (rng.normal(size=(90, 16)) * 1.5).astype(np.float32)
    done = []
    d, i = neighbours.nearest_real(real, queries, k=5, chunk_rows=32, progress=done.append)
    nd, ni = naive_knn(real, queries, 5)
    np.testing.assert_array_equal(i, ni)
    np.testing.assert_allclose(d, nd, rtol=1e-12)
    assert done == [32, 32, 26] and d.shape == i.shape == (90, 5) and i.dtype == np.int64
    assert np.all(np.diff(d, axis=1) >= 0)


def test_reference_excludes_self_but_keeps_exact_duplicates():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 8)).astype(np.float32)
    real[11] = real[200]  # an exact duplicate pair
    rows = neighbours.reference_rows(np.random.default_rng(5), len(real), 60)
    rows = np.union1d(rows, [11, 200])
    d, i = neighbours.nearest_real(real, real[rows], k=3, exclude=rows)
    assert not np.any(i == rows[:, None])  # never itself
    nd, ni = naive_knn(real, real[rows], 3, exclude=rows)
    np.testing.assert_array_equal(i, ni)
    np.testing.assert_allclose(d, nd, rtol=1e-12)
    dup = {r: (dist, idx) for r, dist, idx in zip(rows, d[:, 0], i[:, 0]) if r in (11, 200)}
    assert dup[11] == (0.0, 200) and dup[200] == (0.0, 11)
    assert np.all(d[~np.isin(rows, [11, 200]), 0] > 0.1)


def test_drop_row_keeps_k_when_self_is_missing_among_ties():
    candidates = np.array([[4, 7, 9], [2, 5, 8]])
    kept = neighbours._drop_row(candidates, np.array([7, 3]), 2)  # row 2's self (3) tied out of the list
    assert kept.tolist() == [[4, 9], [2, 5]]


def test_near_copy_has_near_zero_distance_and_the_right_index():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(500, 32)).astype(np.float32)
    query = (real[[17, 333]] + rng.normal(scale=1e-4, size=(2, 32))).astype(np.float32)
    d, i = neighbours.nearest_real(real, query, k=2)
    assert i[:, 0].tolist() == [17, 333]
    # exact in float64, not blurred by the |x|^2 - 2xy + |y|^2 expansion (|x|^2 ~ 32 here)
    expected = np.linalg.norm(query.astype(np.float64) - real[[17, 333]], axis=1)
    np.testing.assert_allclose(d[:, 0], expected, rtol=1e-9)
    assert np.all(d[:, 0] < 1e-3) and np.all(d[:, 1] > 1.0)


def test_copy_summary_known_answers():
    real_nn = np.arange(1.0, 101.0)  # median 50.5; 5% quantile 5.95
    s = neighbours.copy_summary(np.array([1.0, 5.0, 60.0]), real_nn)
    assert s["nn_median"] == 5.0 and s["ratio_to_real"] == pytest.approx(5.0 / 50.5)
    assert s["near_copy_fraction"] == pytest.approx(2 / 3)
    far = neighbours.copy_summary(np.full(10, 1000.0), real_nn)
    assert far["ratio_to_real"] > 10 and far["near_copy_fraction"] == 0.0


def test_far_points_have_ratio_far_above_one_and_copies_far_below():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(2000, 8)).astype(np.float32)
    rows = neighbours.reference_rows(rng, len(real), 400)
    real_nn = neighbours.nearest_real(real, real[rows], k=1, exclude=rows)[0][:, 0]
    far = (rng.normal(size=(50, 8)) + 20.0).astype(np.float32)
    copies = (real[:50] + rng.normal(scale=1e-3, size=(50, 8))).astype(np.float32)
    far_summary = neighbours.copy_summary(neighbours.nearest_real(real, far, k=1)[0][:, 0], real_nn)
    copy_summary = neighbours.copy_summary(neighbours.nearest_real(real, copies, k=1)[0][:, 0], real_nn)
    assert far_summary["ratio_to_real"] > 10 and far_summary["near_copy_fraction"] == 0.0
    assert copy_summary["ratio_to_real"] < 0.05 and copy_summary["near_copy_fraction"] == 1.0


def test_reference_rows_and_column_names():
    rows = neighbours.reference_rows(np.random.default_rng(0), 50, 20)
    assert len(np.unique(rows)) == 20 and np.all(np.diff(rows) > 0) and rows.max() < 50
    assert neighbours.reference_rows(np.random.default_rng(0), 10, 2000).tolist() == list(range(10))  # all
    assert sample_sets.column_name("uniform_b_01.50.npy") == "uniform_b_01_50"
    assert sample_sets.column_name("intervals_fact_00.50.npy") == "intervals_fact_00_50"
    with pytest.raises(ValueError, match="k = 10"):
        neighbours.nearest_real(np.zeros((10, 2)), np.zeros((1, 2)), k=10, exclude=np.array([0]))


# ---- the stage, end to end -------------------------------------------------------------

DIM, N_REAL = 8, 120
# (file, sampler, param, value, label) as the sample stage's manifest lists them
SETTINGS = [("uniform_b_01.00.npy", "uniform", "b", 1.0, "uniform [-b, b], b = 1"),
            ("intervals_fact_00.50.npy", "intervals", "fact", 0.5, "uniform [mu - fact*hw, mu + fact*hw], fact = 0.5")]
SERIES = ["real", "uniform b=1", "intervals fact=0.5"]  # the settings' names in the tables


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("neighbours")
    save_tiny_autoencoder(root / "ae.keras", DIM)
    rng = np.random.default_rng(4)
    z = rng.normal(size=(N_REAL, DIM)).astype(np.float32)
    np.save(root / "z.npy", z)
    np.save(root / "z_tiny.npy", z[:4])
    samples = root / "samples"
    samples.mkdir()
    np.save(samples / SETTINGS[0][0], rng.uniform(-1, 1, (7, DIM)).astype(np.float32))
    np.save(samples / SETTINGS[1][0], (z[:5] + 1e-4).astype(np.float32))  # near-copies of z[0..4]
    (samples / "manifest.json").write_text(json.dumps(
        [{"file": f, "sampler": s, "param": param, "value": value, "label": lab}
         for f, s, param, value, lab in SETTINGS]))
    return root


def run_stage(root: Path, work: Path, z="z.npy", **changes):
    write_params(work / "params.yaml", "neighbours",
                 **{"k": 3, "n_real": 2000, "examples": 2, "bins": 10, "seed": 0, "batch_size": 8, **changes})
    return stage_helpers.run_stage("neighbours", ["--z", root / z, "--samples", root / "samples",
                                                  "--model", root / "ae.keras", "--metrics", "metrics/neighbours.json",
                                                  "--plots", "plots"], cwd=work)


def test_stage_writes_densities_metrics_and_examples(inputs, tmp_path):
    work = tmp_path / "work"
    proc = run_stage(inputs, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(work / "plots/neighbours.csv", newline="") as f:
        table = list(csv.reader(f))
    # long format: one row per series and bin, the series named by setting
    assert table[0] == ["distance", "series", "density"] and len(table) == 1 + 3 * 10
    assert [r[1] for r in table[1:]] == [name for name in SERIES for _ in range(10)]
    for c, name in enumerate(SERIES):  # each density integrates to 1 over the common bins
        rows = table[1 + 10 * c: 1 + 10 * (c + 1)]
        assert [r[0] for r in rows] == [r[0] for r in table[1:11]]  # the same bins for every series
        widths = np.diff([float(r[0]) for r in rows])
        assert sum(float(r[2]) for r in rows) * widths.mean() == pytest.approx(1.0, rel=1e-3), name

    # n_real above the data: every real vector is used, each against its nearest other one
    z = np.load(inputs / "z.npy")
    real_nn = naive_knn(z, z, 1, exclude=np.arange(N_REAL))[0][:, 0]
    m = json.loads((work / "metrics/neighbours.json").read_text())
    assert list(m) == ["neighbours"] and set(m["neighbours"]) == {"real_nn_median", "near_copy_threshold"}
    m = m["neighbours"]
    assert m["real_nn_median"] == pytest.approx(np.median(real_nn), rel=1e-4)
    assert m["near_copy_threshold"] == pytest.approx(np.quantile(real_nn, 0.05), rel=1e-4)
    assert m["real_nn_median"] > m["near_copy_threshold"] > 0
    # k = 3 neighbours decoded beside each of the 2 examples of each of the 2 settings
    assert "decoding examples: 100%" in proc.stderr and f"| {2 * 2 * (1 + 3)}/{2 * 2 * (1 + 3)} [" in proc.stderr

    with open(work / "plots/near_copies.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["setting", "sampler", "param", "value", "metric", "score"]
    summary_keys = ["nn_median", "ratio_to_real", "near_copy_fraction"]
    assert [r[:5] for r in table[1:]] == [[name, sampler, param, f"{value:g}", key]
                                          for name, (_, sampler, param, value, _) in zip(SERIES[1:], SETTINGS)
                                          for key in summary_keys]
    scores = {(r[0], r[4]): float(r[5]) for r in table[1:]}
    copies = {key: scores["intervals fact=0.5", key] for key in summary_keys}
    assert copies["nn_median"] < 1e-3 and copies["near_copy_fraction"] == 1.0 and copies["ratio_to_real"] < 0.01
    uniform = {key: scores["uniform b=1", key] for key in summary_keys}
    assert uniform["ratio_to_real"] == pytest.approx(uniform["nn_median"] / m["real_nn_median"], rel=1e-3)
    for png in ("neighbours.png", "neighbour_examples.png"):
        with Image.open(work / "plots" / png) as im:
            assert im.width > 400 and im.height > 300


def test_stage_rejects_k_not_below_the_number_of_real_vectors(inputs, tmp_path):
    work = tmp_path / "work"
    proc = run_stage(inputs, work, z="z_tiny.npy", k=4)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: neighbours.k = 4"), proc.stderr
    assert "(4)" in lines[0]
    assert sorted(f.name for f in work.iterdir()) == ["params.yaml"]


def test_example_figure_has_one_strip_per_generated_face_with_every_title():
    from latentspace import plots

    rng = np.random.default_rng(0)
    n, k = 3, 2
    fig = plots.neighbour_examples(
        rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), rng.integers(0, 256, (n, k, 8, 8, 3), dtype=np.uint8),
        np.full((n, k), 0.5), generated_titles=["g0", "g1", "g2"], neighbour_indices=np.arange(n * k).reshape(n, k),
        group_labels=["a", "a", "b"], near_copy=np.array([False, True, False]))
    assert len(fig.axes) == n
    for r, ax in enumerate(fig.axes):
        assert ax.images[0].get_array().shape == (8, 8 + 2 + k * 8 + (k - 1), 3)  # face, gap, neighbours, seams
        texts = {t.get_text(): t.get_color() for t in ax.texts}
        assert texts == {f"g{r}": "red" if r == 1 else "black",
                         **{f"real #{r * k + j}\nd = 0.5": "black" for j in range(k)}}
    assert [ax.get_ylabel() for ax in fig.axes] == ["a", "", "b"]
