"""End to end: `dvc repro` of the whole pipeline on a tiny config in a scratch copy of the repo,
and the switch to `data.source: celeba` (from a local server) with one `dvc exp run`.

Checks every declared output and its contract, that a second `dvc repro` does nothing,
that `dvc exp run -S` of a sampling param re-runs only the stages that read samples, and that bad
params stop a stage with a one-line error and no output.
"""

import csv
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fake_http import Blob, FakeServer, make_test_ca
from latentspace import synthetic

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv running the tests has dvc
N_IMAGES, SIZE, M = 240, 16, 150

TINY = {
    "data.synthetic.n_images": N_IMAGES,
    "prepare.image_size": SIZE,
    "train.epochs": 1,
    "train.validation_images": 20,
    "stats.radius.n_uniform": 500,
    "correlate.M": M,
    "correlate.chunk_rows": 64,  # several chunks, so the streaming path runs
    "sample.n": 12,          # > evaluate's k
    "sample.mixture.k": [2],
    "sample.flow.epochs": 2,  # the networks' training is tested in tests/test_sampler_<kind>.py
    "sample.vae.epochs": 2,
    "sample.diffusion.epochs": 2,
    # fewer decoded strips and example panels: matplotlib, not the maths, is most of these stages' time
    "paths.axes": 2,
    "paths.components": 2,
    "paths.interpolation.pairs": 2,
    "attributes.strengths": [-1.0, 0.0, 1.0],
    "neighbours.examples": 1,
    "neighbours.k": 2,
}


def set_param(params: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value


def error_lines(stderr: str) -> list[str]:
    """stderr without TensorFlow's start-up lines, which TF_CPP_MIN_LOG_LEVEL cannot silence
    (tensorflow/tensorflow#100442), and without prepare's per-image "skipped" notes."""
    return [line for line in stderr.strip().splitlines()
            if not (line.startswith(("WARNING: All log messages before absl", "skipped ", "To enable the following"))
                    or re.match(r"[IWE]\d{4} ", line) or "%|" in line)]  # the last: tqdm's bars


def run(args, cwd, check=True):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(Path(cwd) / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def tiny_repo(root: Path) -> dict:
    """A git repository at ``root`` holding this project with the TINY params; returns the params."""
    skip = shutil.ignore_patterns(".git", ".venv", "data", "models", "dvclive", "dvc_plots", "__pycache__", "cache", "tmp",
                                  "*.egg-info", ".pytest_cache", "dvc.lock")
    shutil.copytree(REPO, root, ignore=skip)
    for generated in ("metrics", "plots", "report"):  # the shipped baseline: this run makes its own
        shutil.rmtree(root / generated, ignore_errors=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for key, value in TINY.items():
        set_param(params, key, value)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"]):
        run(cmd, root)
    return params


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory):
    """Two clean `dvc repro` runs of the tiny pipeline in two clones, side by side: the first for
    the checks below, the second for the determinism test and then the switch to CelebA.

    Side by side they take little longer than one on two cores, and contention is what once let a
    race in Keras' loader threads make two identical runs differ.
    """
    roots = [tmp_path_factory.mktemp(name) / "repo" for name in ("first", "second")]
    params = [tiny_repo(root) for root in roots]
    with ThreadPoolExecutor(len(roots)) as pool:
        stdouts = list(pool.map(lambda root: run(["dvc", "repro"], root).stdout, roots))
    for root in roots:  # later tests change the workspaces
        shutil.copy(root / "dvc.lock", root.parent / "clean.lock")
        for generated in ("metrics", "dvclive"):
            shutil.copytree(root / generated, root.parent / f"clean_{generated}")
    return list(zip(roots, params, stdouts))


@pytest.fixture(scope="module")
def repo(clean_runs):
    return clean_runs[0]


@pytest.fixture(scope="module")
def second_repo(clean_runs):
    return clean_runs[1]


def test_every_declared_output_exists(repo):
    root, _, _ = repo
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for out in stage["outs"]:
            path = out if isinstance(out, str) else next(iter(out))
            assert (root / path).exists(), f"{name}: {path} missing"


def test_data_contracts(repo):
    root, params, _ = repo
    images = np.load(root / "data/images.npy")
    assert images.shape == (N_IMAGES, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert images.std() > 10  # real pictures, not a constant
    with open(root / "data/index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["image_id"] for r in rows] == [f"{i:06d}.jpg" for i in range(1, N_IMAGES + 1)]
    n_train = int(np.floor(params["prepare"]["split"]["train_size"] * N_IMAGES))
    assert [r["split"] for r in rows] == ["train"] * n_train + ["holdout"] * (N_IMAGES - n_train)
    assert {"Male", "Smiling", "masculinity"} <= set(rows[0])

    z = np.load(root / "data/z.npy")
    z_holdout = np.load(root / "data/z_holdout.npy")
    assert z.shape == (n_train, 256) and z.dtype == np.float32
    assert z_holdout.shape == (N_IMAGES - n_train, 256) and z_holdout.dtype == np.float32
    assert np.isfinite(z).all()

    idx = np.load(root / "data/corr_sample_idx.npy")
    assert idx.shape == (M,) and len(np.unique(idx)) == M and idx.max() < n_train
    np.testing.assert_array_equal(idx, np.random.default_rng(params["correlate"]["seed"]).choice(n_train, M, replace=False))
    r_sample, r_full = np.load(root / "data/corr_sample.npy"), np.load(root / "data/corr_full.npy")
    assert r_sample.shape == r_full.shape == (256, 256)
    varying = z.std(axis=0) > 0
    np.testing.assert_allclose(r_full[np.ix_(varying, varying)],
                               np.corrcoef(z[:, varying].astype(np.float64), rowvar=False), atol=1e-6)
    np.testing.assert_allclose(r_sample, r_sample.T)

    slice_idx = np.load(root / "data/corr_slice_idx.npy")
    c1, c2 = params["correlate"]["slice"]["components"]
    others = np.delete(z[slice_idx], [c1, c2], axis=1)
    assert np.all(np.abs(others) < params["correlate"]["slice"]["threshold"])


def headline(root: Path, stem: str) -> dict:
    """A metrics file's numbers: one top-level key, the file's stem."""
    metrics = json.loads((root / "metrics" / f"{stem}.json").read_text())
    assert list(metrics) == [stem]
    return metrics[stem]


def long_table(path: Path) -> dict[tuple, dict[str, str]]:
    """A long-format CSV (``*keys, metric, score``, optionally then ``low, high``) as
    {key values: {metric: score}}."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        extra = 2 if header[-2:] == ["low", "high"] else 0
        assert header[len(header) - extra - 2:len(header) - extra] == ["metric", "score"]
        table = {}
        for row in reader:
            row = row[:len(row) - extra]
            table.setdefault(tuple(row[:-2]), {})[row[-2]] = row[-1]
    return table


def series_of(path: Path) -> list[str]:
    """The series of a long-format curve CSV (``x, series, density``), in order."""
    with open(path, newline="") as f:
        return list(dict.fromkeys(r["series"] for r in csv.DictReader(f)))


def test_metrics_agree_with_the_arrays(repo):
    root, params, _ = repo
    corr = headline(root, "correlation")
    r_sample, r_full = np.load(root / "data/corr_sample.npy"), np.load(root / "data/corr_full.npy")
    assert corr["M"] == M
    with open(root / "plots/pairs_above.csv", newline="") as f:
        counts = list(csv.DictReader(f))
    assert [float(r["threshold"]) for r in counts] == params["correlate"]["thresholds"]
    for row in counts:  # the series' count, recomputed from the saved matrices
        t = float(row["threshold"])
        assert int(row["sample"]) == int(((np.abs(r_sample) > t).sum() - 256) / 2)
        assert int(row["full"]) == int((np.abs(r_full[np.triu_indices(256, k=1)]) > t).sum())
    errors = [abs(int(r["sample"]) - int(r["full"])) / int(r["full"]) for r in counts if int(r["full"]) > 0]
    assert corr["count_error_max"] == pytest.approx(max(errors, default=0.0), abs=1e-5)
    with open(root / "plots/correlated_pairs.csv", newline="") as f:
        listed = list(csv.DictReader(f))
    assert len(listed) == corr["pairs_above_sample"]
    assert all(abs(float(p["r_sample"])) > params["correlate"]["pair_threshold"] for p in listed)

    train = headline(root, "train")
    assert set(train) == {"train_loss", "val_loss", "psnr_holdout_db", "mean_image_psnr_db"}
    assert 0 < train["mean_image_psnr_db"] < 60  # the trivial model's PSNR (one tiny epoch need not beat it)
    assert np.isfinite(train["val_loss"]) and train["psnr_holdout_db"] > 5
    stats = headline(root, "stats")
    pca, geo = np.load(root / "data/pca.npz"), headline(root, "geometry")
    z = np.load(root / "data/z.npy").astype(np.float64)
    cov = pca["axes"] @ np.diag(pca["variances"]) @ pca["axes"].T  # the saved frame rebuilds the covariance
    np.testing.assert_allclose(cov, np.cov(z, rowvar=False, bias=True), atol=1e-6 * np.abs(cov).max())
    whitened = (-pca["mean"] @ pca["axes"]) / np.sqrt(np.maximum(pca["variances"], 1e-12 * pca["variances"][0]))
    assert geo["origin_mahalanobis"] == pytest.approx(np.linalg.norm(whitened), abs=1e-3)
    targets = long_table(root / "plots/variance_targets.csv")
    assert [float(t) for (t,) in targets] == params["geometry"]["variance_targets"]
    assert [int(v["axes"]) for v in targets.values()] == sorted(int(v["axes"]) for v in targets.values())
    by_b = long_table(root / "plots/radius_by_b.csv")
    assert [float(b) for (b,) in by_b] == params["stats"]["radius"]["b"]
    distances = {float(b): float(v["radius_distance"]) for (b,), v in by_b.items()}
    assert stats["radius_best_b"] == min(distances, key=distances.get)
    # the curves follow the b list: one series per b, named by its value
    assert series_of(root / "plots/radii.csv") == ["real", *(f"uniform b={b:g}" for b in params["stats"]["radius"]["b"])]
    assert series_of(root / "plots/mahalanobis.csv") == ["real", *(f"uniform b={b:g}" for b in
                                                                   params["geometry"]["uniform"]["b"])]
    with open(root / "plots/components.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 256
    assert (root / "dvclive/plots/metrics/train/loss.tsv").is_file()


def test_analysis_stages_agree_with_the_arrays(repo):
    from scipy import stats as scipy_stats

    root, params, _ = repo
    z = np.load(root / "data/z.npy").astype(np.float64)
    n = len(z)
    with open(root / "plots/sample_error_vs_m.csv", newline="") as f:
        curve = list(csv.DictReader(f))
    assert [int(r["M"]) for r in curve] == [m for m in params["correlate"]["m_curve"] if m < n] + [n]
    assert float(curve[-1]["max_abs"]) == 0  # all vectors: the exact correlation

    with open(root / "plots/normality_components.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 256
    for c in (0, 100):  # the KS distance to the normal with the column's own mean and std
        x = z[:, c]
        expected = scipy_stats.kstest(x, "norm", args=(x.mean(), x.std())).statistic
        assert float(rows[c]["ks_distance"]) == pytest.approx(expected, abs=1e-4)
    normal = headline(root, "normality")
    assert normal["component_normal_fraction"] == pytest.approx(np.mean([int(r["normal"]) for r in rows]), abs=1e-4)
    summary = long_table(root / "plots/normality_summary.csv")
    assert float(summary[("component",)]["normal_fraction"]) == normal["component_normal_fraction"]

    neighbours = headline(root, "neighbours")
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))  # all real vectors are the reference here
    np.fill_diagonal(d, np.inf)
    assert neighbours["real_nn_median"] == pytest.approx(np.median(d.min(axis=1)), rel=1e-3)

    with open(root / "data/index.csv", newline="") as f:
        smiling = np.array([r["Smiling"] == "1" for r in csv.DictReader(f) if r["split"] == "train"])
    with np.load(root / "data/attribute_directions.npz") as f:
        direction = f["directions"][f["names"].tolist().index("Smiling")]
    np.testing.assert_allclose(direction, z[smiling].mean(axis=0) - z[~smiling].mean(axis=0), atol=1e-5)
    directions = {key[0]: v for key, v in long_table(root / "plots/attribute_directions.csv").items()}
    assert set(directions) == set(params["attributes"]["directions"])
    assert int(directions["Smiling"]["with"]) == smiling.sum()

    described = json.loads((root / "plots/paths.json").read_text())
    kinds = {p["kind"] for p in described["paths"]}
    assert len(kinds) == 3 and all((root / f"plots/paths/{k}.png").is_file() for k in kinds)


def test_samples_and_decoded_grids(repo):
    from latentspace.samplers import settings_from_params

    root, params, _ = repo
    comp = np.load(root / "data/component_stats.npz")
    manifest = json.loads((root / "data/samples/manifest.json").read_text())
    assert [e["file"] for e in manifest] == [s.name + ".npy" for s in settings_from_params(params["sample"])]
    assert {e["sampler"] for e in manifest} == {"uniform", "intervals", "gaussian", "normal", "principal_axes",
                                                "mixture", "mixture_chosen", "kde", "flow", "vae", "diffusion",
                                                "neighbourhood"}
    for entry in manifest:
        z = np.load(root / "data/samples" / entry["file"])
        assert z.shape == (params["sample"]["n"], 256) and np.isfinite(z).all()
        if entry["sampler"] in ("uniform", "intervals"):
            half = entry["value"] if entry["sampler"] == "uniform" else entry["value"] * comp["hw"]
            centre = 0.0 if entry["sampler"] == "uniform" else comp["mu"]
            assert np.all(np.abs(z - centre) <= half + 1e-5)
        png = root / "plots/decoded" / entry["file"].replace(".npy", ".png")
        assert Image.open(png).size[0] > Image.open(png).size[1]  # 7 columns, 2 rows of 12 vectors here
    assert Image.open(root / "plots/decoded_overview.png").size[0] > 100


def test_density_fit_metrics_match_a_refit(repo):
    """plots/density_fit.csv: each density (normals, mixtures, kernel densities, the flow, the VAE's
    ELBO), fitted again here with the same seed, scores the vectors it was fitted to and the
    held-out ones as reported;
    metrics/sample.json has the mixture with the best held-out fit."""
    from latentspace import samplers
    from latentspace.geometry import PrincipalAxes

    root, params, _ = repo
    reported = long_table(root / "plots/density_fit.csv")
    z, holdout = np.load(root / "data/z.npy"), np.load(root / "data/z_holdout.npy")
    comp = np.load(root / "data/component_stats.npz")
    with np.load(root / "data/pca.npz") as f:
        pca = PrincipalAxes(f["mean"], f["axes"], f["variances"])
    cloud = samplers.LatentCloud(z=z, pca=pca, **{k: comp[k] for k in ("mu", "hw", "mean", "std")})
    densities = [s for s in samplers.settings_from_params(params["sample"])
                 if s.kind in ("gaussian", "normal", "mixture", "mixture_chosen", "kde", "flow", "vae")]
    assert [key[0] for key in reported] == [f"{s.kind} {s.param}={s.value:g}" for s in densities]
    for setting, got in zip(densities, reported.values()):
        samplers.draw_setting(setting, cloud, seed=params["sample"]["seed"], n=params["sample"]["n"])
        got = {k: float(v) for k, v in got.items()}
        fitted = z[setting.rows_] if hasattr(setting, "rows_") else z  # all of them: fewer than sample.score_rows
        assert got["n_fitted"] == len(fitted) and got["lower_bound"] == (setting.kind == "vae")
        assert got["log_likelihood_fitted"] == pytest.approx(setting.log_likelihood(fitted).mean(), rel=1e-5)
        assert got["log_likelihood_holdout"] == pytest.approx(setting.log_likelihood(holdout).mean(), rel=1e-5)
        assert got["overfit_gap"] == pytest.approx(got["log_likelihood_fitted"] - got["log_likelihood_holdout"],
                                                   rel=1e-4)
    best = headline(root, "sample")["best_mixture"]
    assert f"mixture k={best['k']}" in [key[0] for key in reported]
    assert best["log_likelihood_holdout"] == pytest.approx(max(float(v["log_likelihood_holdout"]) for k, v in
                                                               reported.items() if k[1] == "mixture"), rel=1e-5)


def test_sampling_metrics_match_a_recomputation(repo):
    """plots/sampling.csv has every setting and the real baseline; the in-core fraction and the distance
    to the nearest training vector are recomputed here from the arrays; metrics/sampling.json holds
    each sampler's best setting under names that do not depend on the values swept."""
    from latentspace.geometry import PrincipalAxes

    root, params, _ = repo
    manifest = json.loads((root / "data/samples/manifest.json").read_text())
    with open(root / "plots/sampling.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = [f"{e['sampler']} {e['param']}={e['value']:g}" for e in manifest]
    assert [r["setting"] for r in rows] == ["real", *names]
    z, holdout = np.load(root / "data/z.npy"), np.load(root / "data/z_holdout.npy")
    with np.load(root / "data/pca.npz") as f:
        pca = PrincipalAxes(f["mean"], f["axes"], f["variances"])
    q = params["evaluate"]["core_quantile"]
    low, high = np.quantile(pca.mahalanobis(holdout), [(1 - q) / 2, (1 + q) / 2])
    for entry, got in zip(manifest, rows[1:]):
        samples = np.load(root / "data/samples" / entry["file"])
        d = pca.mahalanobis(samples)
        assert float(got["in_core"]) == pytest.approx(np.mean((d >= low) & (d <= high)), abs=1e-4)
        nearest = np.sqrt(((samples[:, None, :].astype(np.float64) - z[None]) ** 2).sum(-1)).min(axis=1)
        assert float(got["nn_median"]) == pytest.approx(np.median(nearest), rel=1e-4)
        for space in ("latent", "reencoded"):
            assert all(0 <= float(got[f"{space}_{k}"]) <= 1 for k in ("precision", "recall", "coverage"))
            assert float(got[f"{space}_frechet"]) >= 0
    assert float(rows[0]["ratio_to_real"]) == 1.0
    scores = long_table(root / "plots/sampling_scores.csv")
    assert len(scores) == len(rows) and float(scores[tuple(list(rows[1].values())[:4])]["latent_precision"]) \
        == float(rows[1]["latent_precision"])
    for row in rows:  # every score but fid has its bootstrap interval, in order
        for key in ("in_core", "latent_recall", "reencoded_frechet", "near_copy_fraction"):
            assert float(row[f"{key}_low"]) <= float(row[f"{key}_high"]), (row["setting"], key)
    with open(root / "plots/frechet_differences.csv", newline="") as f:
        pairs = {(r["setting"], r["versus"]): r for r in csv.DictReader(f)}
    assert len(pairs) == len(rows) * (len(rows) - 1)
    a, b = rows[1]["setting"], rows[-1]["setting"]
    assert float(pairs[(a, b)]["difference"]) == pytest.approx(
        float(rows[1]["reencoded_frechet"]) - float(rows[-1]["reencoded_frechet"]), rel=1e-3, abs=1e-3)
    assert float(pairs[(a, b)]["low"]) == pytest.approx(-float(pairs[(b, a)]["high"]), rel=1e-4, abs=1e-6)

    headline_ = headline(root, "sampling")
    assert list(headline_) == ["real", *dict.fromkeys(e["sampler"] for e in manifest)]
    for sampler, best in headline_.items():
        mine = [r for r in rows if r["sampler"] == sampler]
        winner = min(mine, key=lambda r: float(r["reencoded_frechet"]))
        assert best["reencoded_frechet"] == float(winner["reencoded_frechet"])
        if sampler != "real":
            assert best[winner["param"]] == pytest.approx(float(winner["value"]))
    for png in ("sampling.png", "sampling_radii.png"):
        assert Image.open(root / "plots" / png).size[0] > 500


def readme_commands(section: str) -> list[list[str]]:
    """The commands of the first ```bash block under README.md's ``## <section>``, comments dropped
    and ``a && b`` split in two, each as an argument list."""
    text = (REPO / "README.md").read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(part) for line in block.splitlines() if line.strip()
            for part in line.split("  #", 1)[0].split("&&")]


def wait_for_the_queue(root: Path, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = run(["dvc", "queue", "status"], root).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the queue did not finish in {timeout} s:\n{status}")
        time.sleep(3)


def test_second_repro_changes_nothing_and_the_readme_experiments_run_as_written(repo):
    root, params, first = repo
    assert "Running stage 'train'" in first
    again = run(["dvc", "repro"], root).stdout
    assert "Running stage" not in again
    assert "up to date" in run(["dvc", "status"], root).stdout
    before = (root / "models/autoencoder.keras").read_bytes()
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run"], root)

    commands = readme_commands("Experiments")
    assert [c[:3] for c in commands] == [
        ["dvc", "exp", "run"], ["dvc", "queue", "start"], ["dvc", "exp", "run"], ["dvc", "queue", "status"], ["dvc", "exp", "show"], ["dvc", "metrics", "diff"], ["dvc", "params", "diff"],
        ["dvc", "plots", "diff"], ["dvc", "exp", "apply"]]
    out = {}
    for command in commands:
        if command[:3] == ["dvc", "queue", "status"]:
            out["queue"] = wait_for_the_queue(root)
        out[" ".join(command[:5])] = run(command, root).stdout

    # k30: only the stages that read samples ran, and the model is the committed one
    k30 = out["dvc exp run -n k30"]
    for stage in ("sample", "decode", "neighbours", "evaluate", "report"):
        assert f"Running stage '{stage}'" in k30
    for stage in ("download", "prepare", "train", "encode", "stats", "geometry", "correlate", "normality",
                  "paths", "attributes"):
        assert f"Running stage '{stage}'" not in k30
    # the queued experiment ran in the background, from the commit
    assert "Success" in out["queue"] and "Failed" not in out["queue"], out["queue"]

    table = list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv"], root).stdout)))
    rows = {r["Experiment"] or r["rev"]: r for r in table}
    assert {"k30", "wider", "workspace", "main"} <= set(rows), sorted(rows)
    assert float(rows["wider"]["sampling.uniform.b"]) in (1.0, 1.5, 1.75, 2.0)
    assert rows["wider"]["train.psnr_holdout_db"] == rows["main"]["train.psnr_holdout_db"]  # not retrained
    # a sweep lines up: the baseline's and the experiment's mixture scores in the same columns
    base, k30 = rows["main"], rows["k30"]
    assert float(base["sampling.mixture.k"]) == 2 and float(k30["sampling.mixture.k"]) == 30
    metric_columns = [c for c in table[0] if c.startswith(("sampling.", "sample.", "neighbours."))
                      and not c.startswith("sample.mixture.k")]
    assert metric_columns and all(base[c] != "" and k30[c] != "" for c in metric_columns), metric_columns
    assert base["sampling.mixture.reencoded_frechet"] != k30["sampling.mixture.reencoded_frechet"]

    assert "metrics/sampling.json" in out["dvc metrics diff"]
    assert "sample.mixture.k" in out["dvc params diff"]
    page = (root / "dvc_plots" / "index.html").read_text()
    assert "main" in page and "k30" in page
    applied = yaml.safe_load((root / "params.yaml").read_text())
    assert applied["sample"]["mixture"]["k"] == [30] and applied["sample"]["uniform"]["b"] == params["sample"]["uniform"]["b"]
    assert headline(root, "sample")["best_mixture"]["k"] == 30
    assert (root / "models/autoencoder.keras").read_bytes() == before

    # A key added to the sample section's schema changes the deps of `sample` only (and so re-runs
    # what reads its vectors), never `train`'s; checked before applying another experiment, since
    # `exp apply` leaves the other one's extra files in plots/decoded
    schema = root / "src/latentspace/schema/sample.py"
    original = schema.read_text()
    schema.write_text(original + "\n# a new sampler's keys would go here\n")
    try:
        changed = json.loads(run(["dvc", "status", "--json"], root).stdout)
    finally:
        schema.write_text(original)
    assert sorted(changed) == ["sample"], changed

    # The curves follow the sampler lists with dvc.yaml untouched: DVC draws each setting's series.
    definitions = [next(iter(p)) for p in yaml.safe_load((root / "dvc.yaml").read_text())["plots"]
                   if isinstance(p, dict)]
    for experiment, new, gone in (("k30", "mixture k=30", "mixture k=2"), ("wider", "uniform b=1.75", "mixture k=30")):
        run(["dvc", "exp", "apply", experiment], root)
        shown = json.loads(run(["dvc", "plots", "show", "--json"], root).stdout)
        assert "errors" not in shown
        curves = {title: entries[0]["content"]["data"]["values"] for title, entries in shown["data"].items()
                  if entries[0]["type"] == "vega"}
        assert sorted(curves) == sorted(definitions) and all(curves.values())
        for title in ("Distance to the nearest real vector", "Radius of the vectors of each sampler"):
            series = {point["series"] for point in curves[title]}
            assert new in series and gone not in series, (experiment, title)


def lock_hashes(lock: dict) -> dict:
    return {out["path"]: out.get("md5") for stage in lock["stages"].values() for out in stage.get("outs", [])}


def test_two_clean_runs_give_byte_identical_outputs(repo, second_repo):
    """Every output, metrics and dvclive's curves included: timings stay out of tracked files."""
    (first_root, _, _), (second_root, _, _) = repo, second_repo
    first, again = (lock_hashes(yaml.safe_load((root.parent / "clean.lock").read_text()))
                    for root in (first_root, second_root))
    assert first.keys() == again.keys()
    assert "models/autoencoder.keras" in first and "data/images.npy" in first and "data/samples" in first
    differ = sorted(path for path in first if first[path] != again[path])
    assert differ == [], f"outputs that changed between two clean runs: {differ}"
    for metric in ("train/loss", "val/loss"):  # the same training run, epoch by epoch
        curve = (first_root.parent / "clean_dvclive/plots/metrics" / f"{metric}.tsv").read_text().splitlines()
        assert curve[0] == "step\tloss" and len(curve) == TINY["train.epochs"] + 1


@pytest.mark.parametrize("stage, key, value, message", [
    ("sample", "sample.uniform.b", [-1.0], "sample.uniform.b[0] = -1.0: must be > 0"),
    ("correlate", "correlate.M", 10**6, "correlate.M = 1000000: must be <= the number of vectors"),
    ("correlate", "correlate.thresholds", [0.1, 1.2], "correlate.thresholds[1] = 1.2: must be <= 1"),
    ("correlate", "correlate.slice.components", [0, 999], "correlate.slice.components[1] = 999: must be < model.latent_dim"),
    ("correlate", "correlate.scatter.special_index", 10**6, "special_index = 1000000: must be < the number of vectors"),
    ("sample", "sample.unknown_key", 1, "unknown key 'sample.unknown_key'"),
    ("sample", "sample.neighbourhood.t_max", [1.5], "sample.neighbourhood.t_max[0] = 1.5: must be <= 1"),
    ("sample", "sample.mixture.k", [10**4], "sample.mixture.k[0] = 10000: must be <= 100"),
    ("download", "data.source", "folder", "data.folder.path = '': must name img_align_celeba.zip"),
    ("train", "train.epochs", "ten", "train.epochs = 'ten': must be an integer"),
    ("train", "train.precision", "float64", "train.precision = 'float64': must be one of float32"),
    ("train", "model.strides", [2, 2, 2, 3], "must be divisible by the product of model.strides (24)"),
    ("sample", "sample.sed", 1, "unknown key 'sample.sed' (did you mean 'seed'?)"),
    ("prepare", "prepare.crop", 400, "smaller than prepare.crop (400 px)"),
    ("prepare", "data.archive.max_members", 10, "more than data.archive.max_members (10)"),
    # finite but absurd: NumPy's uniform refused 1.8e308, and 1e-300 bins would fill the memory
    ("sample", "sample.uniform.b", [1.7976931348623157e308], "sample.uniform.b[0] = 1.7976931348623157e+308: must be <= 1e+09"),
    ("stats", "stats.bin_width", 1e-300, "stats.bin_width = 1e-300: must be >= "),
])
def test_bad_params_fail_cleanly_without_output(repo, tmp_path, stage, key, value, message):
    root, params, _ = repo
    bad = yaml.safe_load(yaml.safe_dump(params))
    set_param(bad, key, value)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad))
    out = tmp_path / "out"
    args = {
        "download": ["--out", str(out / "raw")],
        "sample": ["--z", "data/z.npy", "--z-holdout", "data/z_holdout.npy", "--component-stats",
                   "data/component_stats.npz", "--pca", "data/pca.npz", "--out", str(out / "samples"),
                   "--metrics", str(out / "s.json"), "--plots", str(out)],
        "correlate": ["--z", "data/z.npy", "--data", str(out), "--metrics", str(out / "c.json"),
                      "--plots", str(out)],
        "train": ["--images", "data/images.npy", "--index", "data/index.csv", "--model", str(out / "m.keras"),
                  "--metrics", str(out / "t.json"), "--reconstructions", str(out / "r.png"), "--live", str(out / "live")],
        "stats": ["--z", "data/z.npy", "--out", str(out / "cs.npz"), "--metrics", str(out / "s.json"), "--plots", str(out)],
        "prepare": ["--raw", "data/raw", "--images", str(out / "images.npy"), "--index", str(out / "index.csv"),
                    "--skipped", str(out / "skipped.csv"), "--metrics", str(out / "p.json")],
    }[stage]
    proc = run([sys.executable, f"stages/{stage}.py", "--params", str(tmp_path / "params.yaml"), *args],
               root, check=False)
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert [p for p in out.rglob("*") if not p.is_dir()] == []  # nothing written, not even a temporary


def bad_arrays(root: Path, tmp_path: Path, case: str) -> dict:
    """Inputs for ``case`` made from the tiny run's good ones, and the stage's arguments."""
    z = np.load(root / "data/z.npy")
    out = tmp_path / "out"
    stats = ["--out", str(out / "cs.npz"), "--metrics", str(out / "s.json"), "--plots", str(out)]
    if case in ("nan", "inf", "int", "truncated", "1-d"):
        bad = tmp_path / "z.npy"
        if case in ("nan", "inf"):
            z[3, 5] = np.nan if case == "nan" else -np.inf
            np.save(bad, z)
        elif case == "int":
            np.save(bad, z.astype(np.int32))
        elif case == "1-d":
            np.save(bad, z.ravel())
        else:
            np.save(bad, z)
            bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
        return {"stage": "stats", "args": ["--z", str(bad), *stats]}
    if case == "wrong latent size":
        samples = tmp_path / "samples"
        shutil.copytree(root / "data/samples", samples)
        first = json.loads((samples / "manifest.json").read_text())[0]["file"]
        np.save(samples / first, np.zeros((4, z.shape[1] + 1), np.float32))
        return {"stage": "decode", "args": ["--model", "models/autoencoder.keras", "--samples", str(samples),
                                            "--out", str(out / "decoded"), "--overview", str(out / "o.png")]}
    if case == "held-out vectors of another size":
        holdout = tmp_path / "z_holdout.npy"
        np.save(holdout, np.zeros((5, z.shape[1] - 1), np.float32))
        return {"stage": "sample", "args": ["--z", "data/z.npy", "--z-holdout", str(holdout), "--component-stats",
                                            "data/component_stats.npz", "--pca", "data/pca.npz",
                                            "--out", str(out / "samples"), "--metrics", str(out / "s.json"),
                                            "--plots", str(out)]}
    if case == "images of another size":
        images = tmp_path / "images.npy"
        np.save(images, np.zeros((N_IMAGES, SIZE // 2, SIZE // 2, 3), np.uint8))
        return {"stage": "encode", "args": ["--images", str(images), "--index", "data/index.csv", "--model",
                                            "models/autoencoder.keras", "--z", str(out / "z.npy"),
                                            "--z-holdout", str(out / "zh.npy")]}
    raise ValueError(case)


@pytest.mark.parametrize("case, message", [
    ("nan", "z.npy: vector 3 has nan in component 5; latent vectors must be finite"),
    ("inf", "z.npy: vector 3 has -inf in component 5; latent vectors must be finite"),
    ("int", "expected latent vectors, a float array of shape (n >= 1, dim); got int32"),
    ("1-d", "z.npy: expected a 2-D array, got shape"),
    ("truncated", "z.npy: not a readable .npy array"),
    ("wrong latent size", "components, but the model's latent space has"),
    ("held-out vectors of another size", "z_holdout.npy: vectors of 255 components, but every vector of data/z.npy has 256"),
    ("images of another size", "do not fit the encoder's input"),
])
def test_bad_arrays_fail_cleanly_without_output(repo, tmp_path, case, message):
    root, _, _ = repo
    bad = bad_arrays(root, tmp_path, case)
    proc = run([sys.executable, f"stages/{bad['stage']}.py", *bad["args"]], root, check=False)
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    out = tmp_path / "out"
    assert [p for p in out.rglob("*") if not p.is_dir()] == []
    assert not out.exists() or not any(out.iterdir())


def downstream_of(root: Path, stage: str) -> set[str]:
    """The stages of ``root``'s pipeline that depend, directly or not, on ``stage``'s outputs,
    from DVC's own graph (edges point from a stage to the stages it depends on)."""
    import networkx
    from dvc.repo import Repo

    with Repo(str(root)) as dvc_repo:
        graph = dvc_repo.index.graph
        named = {node.name: node for node in graph}
        return {node.name for node in networkx.ancestors(graph, named[stage])}


def test_switching_to_celeba_is_one_exp_run(second_repo, tmp_path, monkeypatch):
    """`dvc exp run -S data.source=celeba` downloads (here from a local server), verifies and
    prepares the new images, and every other stage follows from them.

    The experiment runs here up to `prepare`, the last stage whose code depends on the source
    (the later stages read the same arrays as from the synthetic faces, and run on those above);
    DVC's own graph then shows every other stage downstream of the outputs that changed, so
    the same command without a target re-runs them all."""
    root, params, _ = second_repo
    fake = tmp_path / "fake_celeba"
    fake.mkdir()
    n = 200
    synthetic.write_celeba_format(fake, n, seed=5, workers=1, progress=False)
    files = {"images": "img_align_celeba.zip", "partition": "list_eval_partition.txt",
             "attributes": "list_attr_celeba.txt"}

    ca_file, tls = make_test_ca(tmp_path / "ca", ["127.0.0.1"])
    with FakeServer(tls=tls) as server:
        conf = yaml.safe_load((root / "params.yaml").read_text())
        conf["data"]["celeba"] = {"download_dir": str(tmp_path / "downloads"), "mirrors": {
            key: [{"url": server.route(f"/{name}", Blob((fake / name).read_bytes())),
                   "md5": hashlib.md5((fake / name).read_bytes()).hexdigest()}]
            for key, name in files.items()}}
        (root / "params.yaml").write_text(yaml.safe_dump(conf, sort_keys=False))
        run(["git", "add", "-A"], root)
        run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "local mirrors"], root)
        for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.delenv(key, raising=False)  # no proxy may swallow requests to 127.0.0.1
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # the download stage trusts the test CA
        out = run(["dvc", "exp", "run", "-n", "celeba", "-S", "data.source=celeba", "prepare"], root).stdout
    assert "Running stage 'download'" in out and "Running stage 'prepare'" in out
    assert len(server.hits) == 3
    stages = set(yaml.safe_load((root / "dvc.yaml").read_text())["stages"])
    assert downstream_of(root, "prepare") == stages - {"download", "prepare"}
    changed = json.loads(run(["dvc", "status", "--json"], root).stdout)
    assert {"train", "encode", "attributes"} <= set(changed), changed  # they read the new arrays
    manifest = json.loads((root / "data/raw/source.json").read_text())
    assert manifest["source"] == "celeba"
    assert manifest["images"]["path"] == str(tmp_path / "downloads" / "img_align_celeba.zip")
    prepared = headline(root, "prepare")
    assert prepared["n_train"] + prepared["n_holdout"] == n
    assert prepared["n_train"] == int(np.floor(params["prepare"]["split"]["train_size"] * n))
    assert len(np.load(root / "data/images.npy", mmap_mode="r")) == n
    shown = run(["dvc", "exp", "show", "--json"], root).stdout
    assert '"celeba"' in shown


def test_a_slice_that_selects_nothing_warns_and_still_writes_its_outputs(repo, tmp_path):
    root, params, _ = repo
    degenerate = yaml.safe_load(yaml.safe_dump(params))
    set_param(degenerate, "correlate.slice.threshold", 1e-9)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(degenerate))
    out = tmp_path / "out"
    proc = run([sys.executable, "stages/correlate.py", "--params", str(tmp_path / "params.yaml"), "--z", "data/z.npy",
                "--data", str(out), "--metrics", str(out / "c.json"), "--plots", str(out)], root, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "correlate.slice: no sampled vector has every component except" in proc.stderr
    assert json.loads((out / "c.json").read_text())["c"]["M"] == params["correlate"]["M"]
    assert np.load(out / "corr_slice_idx.npy").shape == (0,) and (out / "slice.png").stat().st_size > 0


def test_sizes_beyond_the_data_and_outputs_turned_off_warn_by_name(repo, tmp_path):
    """The tiny run's sample.n (12) is smaller than decode's 7 x 3 grid: the grid ends early, and
    paths.axes = 0 decodes no principal-axis path; each says so in one line and the stage succeeds."""
    root, params, _ = repo
    changed = yaml.safe_load(yaml.safe_dump(params))
    set_param(changed, "paths.axes", 0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(changed))
    out = tmp_path / "out"
    given = ["--params", str(tmp_path / "params.yaml")]
    decode = run([sys.executable, "stages/decode.py", *given, "--model", "models/autoencoder.keras",
                  "--samples", "data/samples", "--out", str(out / "decoded"), "--overview", str(out / "o.png")], root)
    shown = params["decode"]["rows"] * params["decode"]["columns"]
    assert error_lines(decode.stderr) == [
        f"warning: params.yaml: decode.rows x decode.columns = {shown}: more than the {params['sample']['n']} "
        f"vectors of a sample set (sample.n): the grids end early; using {params['sample']['n']}"]
    paths = run([sys.executable, "stages/paths.py", *given, "--model", "models/autoencoder.keras", "--z", "data/z.npy",
                 "--pca", "data/pca.npz", "--component-stats", "data/component_stats.npz", "--out", str(out / "paths"),
                 "--described", str(out / "paths.json")], root)
    assert "warning: params.yaml: paths.axes = 0: no principal-axis path is decoded" in error_lines(paths.stderr)
    described = json.loads((out / "paths.json").read_text())["paths"]
    assert described and all(path["kind"] != "principal_axes" for path in described)
