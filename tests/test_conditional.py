"""Faces with or without an attribute: the class clouds, the seeded draws, the judge's shares and
the tables against known answers; draws of each class on faces rendered from a known factor; the
params checks; and the `conditional` stage end to end on tiny inputs."""

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import stage_helpers
import yaml
from stage_helpers import save_tiny_autoencoder, write_params

from latentspace import attributes, conditional, evaluation
from latentspace.io import InputError
from latentspace.params import ParamsError, validate

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((REPO / "params.yaml").read_text())


def write_index(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


# ---------------------------------------------------------------------------
# the pure functions
# ---------------------------------------------------------------------------


def test_class_rows_split_the_vectors_by_the_label():
    rows = conditional.class_rows(np.array([True, False, False, True, False]))
    assert rows["with"].tolist() == [0, 3] and rows["without"].tolist() == [1, 2, 4]


def test_subset_cloud_summarises_only_its_rows():
    z = np.zeros((9, 2), np.float32)
    # component 0 of rows 0-6: four 0s, two 0.25s, one -0.25 -> peak 0; bins at >= half the peak (2): 0 and
    # 0.25, so hw = 2 * 0.25 / 2. Rows 7 and 8 (left out) would move the peak to 3.
    z[:7, 0] = [0, 0, 0, 0, 0.25, 0.25, -0.25]
    z[:7, 1] = [1, 2, 3, 4, 5, 6, 7]
    z[7:] = 3.0
    rows = np.arange(7)
    cloud = conditional.subset_cloud(z, rows, bin_width=0.25)
    np.testing.assert_array_equal(cloud.z, z[:7])
    assert cloud.mu[0] == 0.0 and cloud.hw[0] == 0.25
    np.testing.assert_allclose(cloud.mean, z[:7].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(cloud.std, z[:7].std(axis=0), atol=1e-12)
    variances = np.sort(np.linalg.eigvalsh(np.cov(z[:7].T, bias=True)))[::-1]
    np.testing.assert_allclose(cloud.pca.variances, variances, atol=1e-10)
    with pytest.raises(ValueError, match="at least 2 vectors"):
        conditional.subset_cloud(z, np.array([0]), bin_width=0.25)


def test_make_sampler_takes_an_integer_valued_float_for_an_integer_param():
    mixture = conditional.make_sampler("mixture", 3.0)
    assert mixture.value == 3 and isinstance(mixture.value, int)
    assert conditional.make_sampler("normal", 1.5).value == 1.5


def test_each_draw_has_its_own_seeded_generator():
    normal = conditional.make_sampler("normal", 1.0)

    def first(*args):
        return conditional.draw_rng(*args).random(3)

    np.testing.assert_array_equal(first(0, normal, "Smiling", "with"), first(0, normal, "Smiling", "with"))
    wider = conditional.make_sampler("normal", 2.0)
    others = [first(1, normal, "Smiling", "with"), first(0, normal, "Eyeglasses", "with"),
              first(0, normal, "Smiling", "without"), first(0, wider, "Smiling", "with")]
    assert all(not np.allclose(o, first(0, normal, "Smiling", "with")) for o in others)


def two_classes(n=2000, seed=0):
    """Vectors whose component 0 is +3 with the attribute and -3 without it (sd 0.5), 3 components."""
    rng = np.random.default_rng(seed)
    has = rng.random(n) < 0.4
    z = rng.normal(size=(n, 3)).astype(np.float32)
    z[:, 0] = np.where(has, 3.0, -3.0) + 0.5 * z[:, 0]
    return z, has


def test_class_draws_follow_each_class_and_repeat_with_the_seed():
    z, has = two_classes()
    kwargs = dict(attribute="A", n=4000, bin_width=0.25)
    draws = conditional.class_draws("normal", 1.0, z, has, seed=0, **kwargs)
    for drawn, rows in (("with", has), ("without", ~has)):
        assert draws[drawn].shape == (4000, 3) and draws[drawn].dtype == np.float32
        np.testing.assert_allclose(draws[drawn].mean(axis=0), z[rows].mean(axis=0), atol=0.05)
        np.testing.assert_allclose(draws[drawn].std(axis=0), z[rows].std(axis=0), rtol=0.05)
    again = conditional.class_draws("normal", 1.0, z, has, seed=0, **kwargs)
    other = conditional.class_draws("normal", 1.0, z, has, seed=1, **kwargs)
    np.testing.assert_array_equal(again["with"], draws["with"])
    assert not np.allclose(other["with"], draws["with"])


def test_a_sampler_that_refuses_a_class_names_conditional_value():
    z, has = two_classes(n=40)
    has[:] = False
    has[:3] = True  # 3 vectors with the attribute: too few for 5 mixture components
    with pytest.raises(ParamsError, match=r"^params.yaml: conditional.value = 5: the mixture sampler cannot be "
                                          r"fitted to the 3 training vectors with A "
                                          r"\(sample.mixture.k = 5: must be <="):
        conditional.class_draws("mixture", 5.0, z, has, attribute="A", seed=0, n=10, bin_width=0.25)


class FixedJudge:
    """Stands in for a PixelJudge: fixed probabilities, whatever the images."""

    names = ("A", "B")

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def probabilities(self, images):
        return self.p[: len(images)]


def test_judge_share_is_the_fraction_judged_to_show_the_attribute():
    judge = FixedJudge([[0.9, np.nan], [0.2, np.nan], [0.6, np.nan], [0.5, np.nan]])
    images = np.zeros((4, 2, 2, 3))
    assert conditional.judge_share(judge, images, "A") == 0.5  # 0.9 and 0.6; 0.5 is not above one half
    assert np.isnan(conditional.judge_share(judge, images, "B"))  # no classifier
    assert np.isnan(conditional.judge_share(judge, images[:0], "A"))


def test_holdout_labels_read_the_held_out_rows_in_file_order(tmp_path):
    header = ["image_id", "split", "Smiling", "age", "Male"]
    rows = [["1.jpg", "train", "1", "0.3", "1"], ["2.jpg", "holdout", "1", "0.1", "-1"],
            ["3.jpg", "skipped", "1", "0.1", "1"], ["4.jpg", "holdout", "-1", "0.5", "1"]]
    index = write_index(tmp_path / "index.csv", header, rows)
    labels = conditional.holdout_labels(index, ["Male", "Smiling"], 2)
    assert labels.tolist() == [[False, True], [True, False]]
    with pytest.raises(InputError, match="has 2 'holdout' rows but the held-out vectors have 3"):
        conditional.holdout_labels(index, ["Male"], 3)
    with pytest.raises(InputError, match="must be -1 or 1"):
        conditional.holdout_labels(index, ["age"], 2)


def test_score_rows_and_headline():
    shares = {"A": {"with": 0.8, "without": 0.1, "unconditional": 0.4, "real_with": 0.9, "real_without": 0.2},
              "B": {"with": 0.5, "without": 0.3, "unconditional": 0.4, "real_with": 0.6, "real_without": 0.6}}
    quality = {"precision": 0.5, "recall": 0.6, "density": 0.7, "coverage": 0.8, "frechet": 2.0}
    qualities = {"A": {"with": quality, "without": {**quality, "frechet": 4.0}}, "B": {"with": {}, "without": {}}}
    counts = {a: {"with": 10, "without": 20, "unconditional": 30, "real_with": 3, "real_without": 4} for a in shares}
    rows = conditional.score_rows(shares, qualities, counts)
    assert [keys for keys, _ in rows] == [[a, d] for a in ("A", "B") for d in conditional.DRAWN]
    assert rows[0][1] == {"judge_share": 0.8, "vectors": 10, **quality}
    assert rows[3][1] == {"judge_share": 0.9, "vectors": 3}  # real faces are judged, not scored
    assert rows[6][1] == {"judge_share": 0.3, "vectors": 20}  # B's held-out classes were too small to score
    head = conditional.headline(shares, qualities, {"A": 0.7, "B": float("nan")})
    assert head == {"share_gap": pytest.approx(0.45), "real_share_gap": pytest.approx(0.35), "frechet": 3.0,
                    "judge_mean_balanced_accuracy": 0.7}
    assert conditional.headline({}, {}, {}) == dict.fromkeys(head)


# ---------------------------------------------------------------------------
# faces rendered from a known factor: the required behaviour
# ---------------------------------------------------------------------------

SIDE, LATENT = 8, 6


def render(z: np.ndarray) -> np.ndarray:
    """A known linear decoder: component 0 lights a square (the attribute's pixels), the others
    add fixed random patterns; (n, LATENT) -> (n, SIDE, SIDE, 3) in [0, 1]."""
    patterns = np.random.default_rng(99).choice([-1.0, 1.0], size=(LATENT, SIDE, SIDE, 3))
    patterns[0] = 0.0
    patterns[0, 2:6, 1:7] = 1.0
    return np.clip(0.5 + 0.06 * np.einsum("nk,kijc->nijc", z, patterns), 0.0, 1.0)


def test_conditional_draws_raise_the_judges_share_on_synthetic_faces_with_known_factors():
    rng = np.random.default_rng(7)
    n_train, n_holdout = 3000, 1000
    has = rng.random(n_train + n_holdout) < 0.3
    z = rng.normal(size=(n_train + n_holdout, LATENT)) @ np.linalg.cholesky(0.5 * np.eye(LATENT) + 0.5).T
    z[:, 0] = np.where(has, 2.5, 0.0) + 0.6 * rng.normal(size=len(z))  # component 0 carries the attribute
    z = z.astype(np.float32)
    train, holdout, has_train, has_holdout = z[:n_train], z[n_train:], has[:n_train], has[n_train:]

    judge = attributes.fit_judge(render(train[:1500]), has_train[:1500, None], ["Glasses"], n_features=32)
    draws = conditional.class_draws("normal", 1.0, train, has_train, attribute="Glasses", seed=0, n=1000,
                                    bin_width=0.25)
    normal = conditional.make_sampler("normal", 1.0)
    unconditional = conditional.fit_and_draw(
        normal, conditional.subset_cloud(train, np.arange(n_train), bin_width=0.25),
        conditional.draw_rng(0, normal, "", conditional.UNCONDITIONAL), 1000, vectors="(all)")

    def share(vectors):
        return conditional.judge_share(judge, render(vectors), "Glasses")

    real_with, real_without = share(holdout[has_holdout]), share(holdout[~has_holdout])
    with_, without, baseline = share(draws["with"]), share(draws["without"]), share(unconditional)
    assert real_with > 0.9 and real_without < 0.1  # the judge sees the square
    assert with_ > baseline + 0.4 and baseline > without + 0.15, (with_, baseline, without)
    assert abs(baseline - has_train.mean()) < 0.1  # all vectors: about as often as the data has it
    assert abs(with_ - real_with) < 0.05, (with_, real_with)
    assert abs(without - real_without) < 0.05, (without, real_without)
    # in latent space too, the draws with the attribute are closer to held-out vectors with it
    ks = dict(k_precision=3, k_density=5)
    conditioned = evaluation.set_quality(holdout[has_holdout], draws["with"], **ks)
    plain = evaluation.set_quality(holdout[has_holdout], unconditional, **ks)
    assert conditioned["frechet"] < 0.2 * plain["frechet"] and conditioned["precision"] > plain["precision"]


# ---------------------------------------------------------------------------
# params
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("key, value, message", [
    ("sampler", "gan", "conditional.sampler = 'gan': must be one of uniform, "),
    ("value", 2.5, None),  # with sampler mixture below
    ("n", 5, r"conditional.n = 5: must be > conditional.k_precision and k_density \(5\)"),
    ("faces", 9, r"conditional.faces = 9: must be <= conditional.n \(8\)"),
    ("attributes", ["Smiling", "Male", "Smiling"], r"conditional.attributes\[2\] = 'Smiling': is listed twice"),
    ("value", 0, r"conditional.value = 0: must be > 0"),
])
def test_bad_params_name_the_key(key, value, message):
    p = copy.deepcopy(DEFAULTS)
    p["conditional"].update(n=8, k_precision=3, k_density=5)
    p["conditional"][key] = value
    if message is None:
        p["conditional"]["sampler"] = "mixture"
        message = r"conditional.value = 2.5: must be an integer for sampler 'mixture' \(its k\)"
    with pytest.raises(ParamsError, match="^params.yaml: " + message) as info:
        validate(p)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------
# the stage end to end
# ---------------------------------------------------------------------------

N_TRAIN, N_HOLDOUT, STAGE_LATENT = 80, 30, 8
OUTPUTS = ("plots/conditional.csv", "plots/conditional.png", "metrics/conditional.json")


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("conditional_stage")
    rng = np.random.default_rng(3)
    z = rng.normal(size=(N_TRAIN + N_HOLDOUT, STAGE_LATENT)).astype(np.float32)
    np.save(root / "z.npy", z[:N_TRAIN])
    np.save(root / "z_holdout.npy", z[N_TRAIN:])
    split = ["train"] * N_TRAIN + ["holdout"] * N_HOLDOUT
    rows = [[f"{i:06d}.jpg", s, "1" if z[i, 0] > 0 else "-1", "1" if i % 3 == 0 else "-1", f"{z[i, 1]:.4f}"]
            for i, s in enumerate(split)]
    write_index(root / "index.csv", ["image_id", "split", "Smiling", "Male", "age"], rows)
    params = write_params(root / "params.yaml", "conditional", attributes=["Smiling", "Male"], n=12, faces=4,
                          judge={"n_train": 60, "n_test": 30},  # more than N_TRAIN: shrunk to fit
                          batch_size=32)
    return root, params


def run_stage(root: Path, out: Path, params: Path, model: Path):
    return stage_helpers.run_stage("conditional", [
        "--params", params, "--z", root / "z.npy", "--z-holdout", root / "z_holdout.npy", "--index",
        root / "index.csv", "--model", model, "--metrics", out / "metrics" / "conditional.json",
        "--plots", out / "plots"])


def changed(params: dict, tmp_path: Path, **changes) -> Path:
    p = copy.deepcopy(params)
    p["conditional"].update(changes)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    return tmp_path / "params.yaml"


def test_stage_rejects_an_unknown_attribute_in_one_line_naming_the_key(stage_inputs, tmp_path):
    root, params = stage_inputs
    bad = changed(params, tmp_path, attributes=["Smiling", "Smiling_Wide"])
    proc = run_stage(root, tmp_path, bad, root / "no_model_needed.keras")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: params.yaml: conditional.attributes[1] = 'Smiling_Wide': must be one of the binary attributes of "
        f"{root}/index.csv: Smiling, Male"]
    assert not any((tmp_path / o).exists() for o in OUTPUTS)


def test_stage_switched_off_writes_empty_outputs_without_the_model(stage_inputs, tmp_path):
    root, params = stage_inputs
    proc = run_stage(root, tmp_path, changed(params, tmp_path, attributes=[]), root / "index.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "warning: params.yaml: conditional.attributes = []: no face is drawn or judged" in proc.stderr
    assert (tmp_path / OUTPUTS[0]).read_text().splitlines() == ["attribute,drawn,metric,score"]
    assert json.loads((tmp_path / OUTPUTS[2]).read_text()) == {"conditional": {
        "share_gap": None, "real_share_gap": None, "frechet": None, "judge_mean_balanced_accuracy": None}}
    assert (tmp_path / OUTPUTS[1]).stat().st_size > 0


def test_stage_writes_every_output(stage_inputs, tmp_path):
    root, params = stage_inputs
    model = save_tiny_autoencoder(tmp_path / "ae.keras", STAGE_LATENT)
    proc = run_stage(root, tmp_path, root / "params.yaml", model)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "conditional.judge.n_train + n_test = 90: more than the 80 vectors" in proc.stderr
    with open(tmp_path / OUTPUTS[0], newline="") as f:
        rows = list(csv.DictReader(f))
    scores = {(r["attribute"], r["drawn"], r["metric"]): r["score"] for r in rows}
    z = np.load(root / "z.npy")
    assert scores[("Smiling", "with", "vectors")] == str(int((z[:, 0] > 0).sum()))
    assert scores[("Male", "unconditional", "vectors")] == str(N_TRAIN)
    held = np.load(root / "z_holdout.npy")
    assert scores[("Smiling", "real_with", "vectors")] == str(int((held[:, 0] > 0).sum()))
    assert {d for _, d, _ in scores} == set(conditional.DRAWN)
    for a in ("Smiling", "Male"):
        for drawn in conditional.DRAWN:
            assert 0 <= float(scores[(a, drawn, "judge_share")]) <= 1
        for drawn in conditional.CLASSES:  # scored against held-out vectors of the class
            assert float(scores[(a, drawn, "frechet")]) > 0
            assert 0 <= float(scores[(a, drawn, "precision")]) <= 1
    m = json.loads((tmp_path / OUTPUTS[2]).read_text())["conditional"]
    shares = {a: {d: float(scores[(a, d, "judge_share")]) for d in conditional.DRAWN} for a in ("Smiling", "Male")}
    assert m["share_gap"] == pytest.approx(np.mean([s["with"] - s["without"] for s in shares.values()]), abs=1e-3)
    assert (tmp_path / OUTPUTS[1]).stat().st_size > 0
