"""Attribute correlations, directions and the pixel judge on data with known answers, and the
`attributes` stage end to end on tiny inputs."""

import csv
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import stage_helpers
import yaml
from stage_helpers import save_tiny_autoencoder, write_params

from latentspace import attributes, celeba_format, geometry, images, synthetic
from latentspace.io import InputError
from latentspace.params import ParamsWarning

# ---------------------------------------------------------------------------
# annotations
# ---------------------------------------------------------------------------


def write_index(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_read_annotations_keeps_training_rows_and_recodes_binary(tmp_path):
    index = write_index(tmp_path / "index.csv", ["image_id", "split", "partition", "Smiling", "Bald", "age"], [
        ["1.jpg", "train", "0", "1", "-1", "0.25"],
        ["2.jpg", "holdout", "1", "1", "1", "9.0"],  # not a training row: ignored
        ["3.jpg", "train", "0", "-1", "-1", "0.75"],
        ["4.jpg", "skipped", "0", "-1", "-1", "0.5"],
        ["5.jpg", "train", "2", "1", "-1", "-1.5"],
    ])
    ann = attributes.read_annotations(index, 3)
    assert ann.names == ("Smiling", "Bald", "age")
    # Bald has only -1 among the training rows: still binary (one-sided), not a factor
    assert ann.binary.tolist() == [True, True, False] and ann.binary_names == ["Smiling", "Bald"]
    np.testing.assert_array_equal(ann.values, [[1, 0, 0.25], [0, 0, 0.75], [1, 0, -1.5]])
    np.testing.assert_array_equal(ann.labels(["Smiling"])[:, 0], [True, False, True])
    with pytest.raises(InputError, match=r"index.csv: has 3 'train' rows but the latent vectors have 4"):
        attributes.read_annotations(index, 4)

    bad = write_index(tmp_path / "bad.csv", ["image_id", "split", "age"], [["1.jpg", "train", "old"]])
    with pytest.raises(InputError, match="bad.csv: annotation values must be numbers"):
        attributes.read_annotations(bad, 1)
    plain = write_index(tmp_path / "plain.csv", ["image_id", "split"], [["1.jpg", "train"], ["2.jpg", "train"]])
    empty = attributes.read_annotations(plain, 2)
    assert empty.names == () and empty.values.shape == (2, 0) and empty.binary_names == []


# ---------------------------------------------------------------------------
# correlations
# ---------------------------------------------------------------------------


def test_streamed_cross_correlation_equals_corrcoef_over_many_chunks():
    rng = np.random.default_rng(0)
    n, dx = 1000, 6
    x = (rng.normal(5.0, 2.0, (n, dx)) @ rng.normal(size=(dx, dx))).astype(np.float32)
    y = np.c_[rng.random(n) < 0.3, x[:, 0] * 0.5 + rng.normal(size=n), rng.normal(100.0, 1e-3, n)]
    r = attributes.cross_correlation(x, y, chunk_rows=64)  # 16 chunks
    expected = np.corrcoef(x.astype(np.float64), y, rowvar=False)[:dx, dx:]
    np.testing.assert_allclose(r, expected, atol=1e-10)

    # r of the principal axes: the transform is applied chunk by chunk
    pca = geometry.principal_axes(x)
    r_axes = attributes.cross_correlation(x, y, chunk_rows=64, transform=pca.aligned)
    expected = np.corrcoef(pca.aligned(x), y, rowvar=False)[:dx, dx:]
    np.testing.assert_allclose(r_axes, expected, atol=1e-10)


def test_constant_columns_get_zero_correlation_with_a_warning():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = np.c_[x[:, 1], np.full(200, 1.0)]
    with pytest.warns(RuntimeWarning, match=r"constant annotation column\(s\) \['Bald'\]"):
        r = attributes.cross_correlation(x, y, chunk_rows=50, y_names=["Smiling", "Bald"])
    assert np.isfinite(r).all() and np.all(r[:, 1] == 0) and r[1, 0] == pytest.approx(1.0)


def test_top_two_and_strongest_first():
    r = np.array([[0.1, -0.2, 0.05], [0.0, 0.3, -0.9], [0.6, 0.1, 0.0]])
    first, second = attributes.top_two(r)
    assert first.tolist() == [1, 2, 0] and second.tolist() == [0, 1, 1]
    assert attributes.strongest_first(r).tolist() == [1, 2, 0]
    assert attributes.top_two(r[:, :1])[1].tolist() == [-1, -1, -1]


# ---------------------------------------------------------------------------
# directions on a latent cloud with known loadings
# ---------------------------------------------------------------------------


def test_directions_recover_the_loadings_of_independent_attributes():
    rng = np.random.default_rng(2)
    n, dim = 20000, 8
    b = rng.random((n, 3)) < np.array([0.5, 0.2, 0.35])  # independent binary attributes
    w = np.zeros((3, dim))
    w[0, :3] = [2.0, -1.0, 0.5]
    w[1, 2:5] = [1.5, 1.0, -2.0]
    w[2, 7] = 3.0  # component 7 loads on attribute 2 only
    z = (b @ w + rng.normal(0.0, 0.5, (n, dim)) + 4.0).astype(np.float32)

    d, with_, without = attributes.attribute_directions(z, b, chunk_rows=1000)
    np.testing.assert_array_equal(with_, b.sum(axis=0))
    np.testing.assert_array_equal(with_ + without, n)
    cosine = np.sum(d * w, axis=1) / np.linalg.norm(d, axis=1) / np.linalg.norm(w, axis=1)
    assert np.all(cosine > 0.99)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(w, axis=1), rtol=0.03)
    # the naive class means agree with the streamed ones
    z64 = z.astype(np.float64)
    np.testing.assert_allclose(d[1], z64[b[:, 1]].mean(axis=0) - z64[~b[:, 1]].mean(axis=0), atol=1e-9)

    first, _ = attributes.top_two(attributes.cross_correlation(z, b.astype(float), chunk_rows=1000))
    assert first[7] == 2 and first[0] == 0 and first[4] == 1


def test_one_sided_attribute_gets_a_nan_direction_with_a_warning():
    z = np.random.default_rng(3).normal(size=(50, 4))
    labels = np.c_[np.arange(50) % 2 == 0, np.zeros(50, bool)]
    with pytest.warns(RuntimeWarning, match=r"\['Bald'\] are present in none or all"):
        d, with_, _ = attributes.attribute_directions(z, labels, chunk_rows=16, names=["Smiling", "Bald"])
    assert np.isfinite(d[0]).all() and np.isnan(d[1]).all() and with_.tolist() == [25, 0]


def test_judge_sizes_shrink_in_proportion_to_fit():
    assert attributes.judge_sizes(4000, 1000, 10000) == (4000, 1000)
    with pytest.warns(ParamsWarning, match=r"^params.yaml: attributes.judge.n_train \+ n_test = 5000: more than "
                      "the 200 vectors; the judge is fitted on 160 and tested on 40"):
        assert attributes.judge_sizes(4000, 1000, 200) == (160, 40)
    with pytest.warns(ParamsWarning):
        assert attributes.judge_sizes(20, 20, 2) == (1, 1)
    with pytest.warns(ParamsWarning):  # a huge test size still leaves the judge 20 vectors to fit
        assert attributes.judge_sizes(20, 10**7, 204) == (20, 184)


def test_strip_vectors_and_direction_effect():
    z = np.array([[0.0, 1.0], [2.0, 0.0]])
    v = attributes.strip_vectors(z, np.array([1.0, -1.0]), [-1.0, 0.0, 2.0])
    assert v.shape == (2, 3, 2) and v.dtype == np.float32
    np.testing.assert_array_equal(v[1, 2], [4.0, -2.0])
    np.testing.assert_array_equal(v[:, 1], z)
    response = np.array([[0.1, 0.5, 0.5], [0.2, 0.5, 0.4], [0.9, 0.2, 0.5]])  # strengths x attributes
    effect = attributes.direction_effect(response, [-1.0, 0.0, 2.0], ["a", "b", "c"], "a")
    assert effect["own_change"] == pytest.approx(0.7)
    assert effect["largest_other"] == "b" and effect["largest_other_change"] == pytest.approx(-0.3)
    with pytest.raises(ValueError, match="must contain 0"):
        attributes.direction_effect(response, [-1.0, 1.0, 2.0], ["a", "b", "c"], "a")


def test_judge_learns_a_visible_attribute_and_skips_a_single_class():
    rng = np.random.default_rng(4)
    n = 400
    has = rng.random(n) < 0.4
    imgs = rng.random((n, 8, 8, 3)).astype(np.float32) * 0.5
    imgs[has, 2:5, 2:5, :] += 0.5  # a bright square means the attribute is there
    labels = np.c_[has, np.zeros(n, bool)]
    with pytest.warns(RuntimeWarning, match=r"\['Bald'\] have a single class"):
        judge = attributes.fit_judge(imgs[:300], labels[:300], ["Square", "Bald"], n_features=32)
    scores = attributes.judge_scores(judge, imgs[300:], labels[300:])
    assert scores["Square"]["accuracy"] > 0.95 and scores["Square"]["balanced_accuracy"] > 0.95
    assert np.isnan(scores["Bald"]["accuracy"])
    p = judge.probabilities(imgs[300:])
    assert p.shape == (100, 2) and np.isnan(p[:, 1]).all()
    assert p[has[300:], 0].mean() > 0.75 > 0.25 > p[~has[300:], 0].mean()


# ---------------------------------------------------------------------------
# directions change the right factor: synthetic faces, a linear autoencoder
# ---------------------------------------------------------------------------

N_FACES, N_JUDGE, SIZE = 1000, 700, 32


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Synthetic faces prepared as the pipeline prepares them (CelebA format, 140 px centre
    crop, 32 px) with their binary attributes."""
    raw = tmp_path_factory.mktemp("synthetic")
    synthetic.write_celeba_format(raw, N_FACES, seed=0, workers=2, progress=False)
    with zipfile.ZipFile(raw / "img_align_celeba.zip") as zf:
        members = sorted(m for m in zf.namelist() if m.endswith(".jpg"))
        pixels = np.stack([images.load_face(zf.read(m), crop=140, size=SIZE, max_pixels=10**6) for m in members])
    names, _, values = celeba_format.read_attr_file(raw / celeba_format.ATTR_FILE)
    return pixels.astype(np.float32) / 255.0, names, values > 0


def test_directions_change_the_right_factor_of_synthetic_faces(faces):
    from sklearn.decomposition import PCA

    pixels, names, labels = faces
    flat = pixels.reshape(len(pixels), -1)
    # A linear autoencoder stands in for the Keras model: encode = PCA, decode = its inverse.
    ae = PCA(64, svd_solver="randomized", random_state=0).fit(flat)
    z = ae.transform(flat).astype(np.float32)

    def decode(v):
        return np.clip(ae.inverse_transform(v), 0.0, 1.0).reshape(len(v), SIZE, SIZE, 3)

    directions, _, _ = attributes.attribute_directions(z, labels, names=names)
    judge = attributes.fit_judge(decode(z[:N_JUDGE]), labels[:N_JUDGE], names, n_features=64)
    scores = attributes.judge_scores(judge, decode(z[N_JUDGE:]), labels[N_JUDGE:])
    strengths = [0.0, 1.0, 2.0]
    for a in ("Eyeglasses", "Blond_Hair", "Smiling"):
        k = names.index(a)
        assert scores[a]["balanced_accuracy"] > 0.7, a
        without = np.flatnonzero(~labels[:, k])[:16]
        strips = attributes.decode_strips(decode, z[without], directions[k], strengths)
        assert strips.shape == (16, 3, SIZE, SIZE, 3)
        change = np.diff(attributes.strength_response(judge, strips)[[0, 2]], axis=0)[0]  # s = 2 minus s = 0
        effect = attributes.direction_effect(attributes.strength_response(judge, strips), strengths, names, a)
        assert effect["own_change"] == pytest.approx(change[k])
        assert change[k] > 0.3, (a, change[k])
        # The generator opens the mouth because of the smile factor (P(open) rises with smile),
        # so the Smiling direction rightly opens mouths too; every other attribute must move less.
        others = [j for j in range(len(names)) if j != k and not (a == "Smiling" and names[j] == "Mouth_Slightly_Open")]
        assert change[k] > np.abs(change[others]).max(), (a, effect)


# ---------------------------------------------------------------------------
# the stage end to end
# ---------------------------------------------------------------------------

N_TRAIN, LATENT = 60, 8


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("attributes_stage")
    save_tiny_autoencoder(root / "ae.keras", LATENT)
    rng = np.random.default_rng(5)
    z = rng.normal(size=(N_TRAIN, LATENT)).astype(np.float32)
    np.save(root / "z.npy", z)
    pca = geometry.principal_axes(z)
    np.savez(root / "pca.npz", mean=pca.mean, axes=pca.axes, variances=pca.variances)
    dominant = np.zeros(LATENT, bool)
    dominant[[3, 6]] = True
    np.savez(root / "stats.npz", dominant=dominant)
    rows, k = [], 0
    for i in range(N_TRAIN + 6):
        split = "holdout" if i % 11 == 5 else "train"
        smiling = z[k, 0] > 0 if split == "train" else False
        rows.append([f"{i:06d}.jpg", split, "0", "1" if smiling else "-1", "1" if i % 3 == 0 else "-1", "-1",
                     f"{z[k, 1] * 0.1 + 0.5:.4f}"])
        k += split == "train"
    assert k == N_TRAIN
    write_index(root / "index.csv", ["image_id", "split", "partition", "Smiling", "Male", "Eyeglasses", "age"], rows)
    write_index(root / "plain.csv", ["image_id", "split"], [[r[0], r[1]] for r in rows])
    params = write_params(root / "params.yaml", "attributes", chunk_rows=16, heatmap_rows=4,
                          directions=["Smiling", "Male"], strengths=[-1.0, 0.0, 1.0, 2.0], faces=2,
                          judge={"n_train": 50, "n_test": 20},  # more than N_TRAIN: shrunk to fit
                          batch_size=16)
    return root, params


def run_stage(root: Path, out: Path, *, index="index.csv", params="params.yaml"):
    return stage_helpers.run_stage("attributes", [
        "--params", root / params, "--z", root / "z.npy", "--index", root / index, "--pca", root / "pca.npz",
        "--component-stats", root / "stats.npz", "--model", root / "ae.keras", "--out", out / "data" / "attribute_directions.npz",
        "--metrics", out / "metrics" / "attributes.json", "--plots", out / "plots"])


OUTPUTS = ("data/attribute_directions.npz", "plots/attribute_correlations.csv", "plots/top_attributes.csv",
           "plots/attribute_heatmap.png", "plots/attribute_directions.png", "metrics/attributes.json",
           "plots/attribute_directions.csv", "plots/judge_scores.csv")
DIRECTION_METRICS = ["with", "without", "own_change", "largest_other_change", "judge_accuracy",
                     "judge_balanced_accuracy"]


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_stage_writes_every_output(stage_inputs, tmp_path):
    root, _ = stage_inputs
    proc = run_stage(root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all((tmp_path / o).is_file() for o in OUTPUTS)
    assert "Eyeglasses" in proc.stderr  # one-sided: warned, NaN direction
    assert "the judge is fitted on 43 and tested on 17" in proc.stderr

    with np.load(tmp_path / OUTPUTS[0]) as f:
        assert f["names"].tolist() == ["Smiling", "Male", "Eyeglasses"]
        assert f["directions"].shape == (3, LATENT) and np.isnan(f["directions"][2]).all()
        assert (f["counts_with"] + f["counts_without"] == N_TRAIN).all()
        z = np.load(root / "z.npy").astype(np.float64)
        smiling = z[:, 0] > 0  # how the index's Smiling column was made
        np.testing.assert_allclose(f["directions"][0], z[smiling].mean(axis=0) - z[~smiling].mean(axis=0), atol=1e-6)
    header, rows = read_csv(tmp_path / OUTPUTS[1])
    assert header == ["kind", "index", "attribute", "r"] and len(rows) == 2 * LATENT * 4
    assert sorted({r["attribute"] for r in rows}) == ["Eyeglasses", "Male", "Smiling", "age"]  # all 4 attributes
    correlations = rows
    assert {r["index"] for r in rows if r["kind"] == "axis"} == {str(k) for k in range(1, LATENT + 1)}
    smiling_z0 = next(float(r["r"]) for r in rows if r["kind"] == "component" and r["index"] == "0"
                      and r["attribute"] == "Smiling")
    assert smiling_z0 > 0.6  # Smiling was defined as z[0] > 0
    header, rows = read_csv(tmp_path / OUTPUTS[2])
    assert header == ["kind", "index", "dominant", "attribute", "r", "second_attribute", "r2"]
    assert [r["kind"] for r in rows] == ["component"] * LATENT + ["axis"] * 4
    assert [r["index"] for r in rows[:2]] in (["3", "6"], ["6", "3"])  # the dominant components first
    assert [r["dominant"] for r in rows] == ["1"] * 2 + ["0"] * (LATENT - 2) + [""] * 4
    assert next(r for r in rows if r["kind"] == "component" and r["index"] == "0")["attribute"] == "Smiling"

    # each shown axis (heatmap_rows = 4) with the attribute of its largest |r|
    def strongest(kind, index):
        return max((r for r in correlations if r["kind"] == kind and r["index"] == index),
                   key=lambda r: abs(float(r["r"])))
    axis_rows = [r for r in rows if r["kind"] == "axis"]
    assert [r["index"] for r in axis_rows] == ["1", "2", "3", "4"]
    for r in axis_rows:
        assert (r["attribute"], r["r"]) == (strongest("axis", r["index"])["attribute"], strongest("axis", r["index"])["r"])

    # every drawn direction's numbers in long format (Eyeglasses is binary but not drawn)
    header, rows = read_csv(tmp_path / OUTPUTS[6])
    assert header == ["attribute", "largest_other", "metric", "score"]
    assert [(r["attribute"], r["metric"]) for r in rows] == [(a, k) for a in ("Smiling", "Male") for k in DIRECTION_METRICS]
    directions = {a: {r["metric"]: r["score"] for r in rows if r["attribute"] == a} for a in ("Smiling", "Male")}
    for a in directions:
        assert int(directions[a]["with"]) + int(directions[a]["without"]) == N_TRAIN
        [other] = {r["largest_other"] for r in rows if r["attribute"] == a}  # one per direction, not the drawn one
        assert other in {"Smiling", "Male", "Eyeglasses"} - {a}
    with np.load(tmp_path / OUTPUTS[0]) as f:
        assert int(directions["Smiling"]["with"]) == f["counts_with"][0]

    # the metrics: one key named after the file, the headline numbers only
    m = json.loads((tmp_path / OUTPUTS[5]).read_text())
    assert list(m) == ["attributes"]
    assert set(m["attributes"]) == {"strongest_component_r", "judge_mean_balanced_accuracy"}
    m = m["attributes"]
    # the largest |r| of any component with any attribute: age's with z[1], of which it is a linear function
    top = max((r for r in correlations if r["kind"] == "component"), key=lambda r: abs(float(r["r"])))
    assert (top["index"], top["attribute"]) == ("1", "age") and float(top["r"]) > 0.999
    assert m["strongest_component_r"] == float(top["r"])
    # the judge's balanced accuracy averaged over the attributes it could judge (Eyeglasses is
    # constant: no classifier, NaN), here the two drawn ones; its sizes are on stderr (above)
    balanced = [float(directions[a]["judge_balanced_accuracy"]) for a in ("Smiling", "Male")]
    assert m["judge_mean_balanced_accuracy"] == pytest.approx(np.mean(balanced), abs=1e-4)
    # ... and per attribute in judge_scores.csv: every binary one, an empty score where none could be fitted
    header, rows = read_csv(tmp_path / OUTPUTS[7])
    assert header == ["attribute", "metric", "score"]
    judge = {(r["attribute"], r["metric"]): r["score"] for r in rows}
    assert {a for a, _ in judge} == {"Smiling", "Male", "Eyeglasses"} and judge[("Eyeglasses", "accuracy")] == ""
    assert (judge[("Smiling", "n_train")], judge[("Smiling", "n_test")]) == ("43", "17")
    assert float(judge[("Male", "balanced_accuracy")]) == pytest.approx(float(directions["Male"]["judge_balanced_accuracy"]), abs=1e-4)


@pytest.mark.parametrize("key, value, message", [
    # a continuous factor has no direction; the message lists the binary attributes there are
    ("directions", ["Smiling", "age"], "attributes.directions[1] = 'age': must be one of the binary attributes "
                                       "of {root}/index.csv: Smiling, Male, Eyeglasses"),
    ("strengths", [1.0, 2.0], "attributes.strengths = [1.0, 2.0]: must contain 0"),
])
def test_stage_rejects_params_that_do_not_fit_the_data(stage_inputs, tmp_path, key, value, message):
    root, params = stage_inputs
    bad = yaml.safe_load(yaml.safe_dump(params))
    bad["attributes"][key] = value
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    proc = run_stage(root, tmp_path, params=str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: attributes.")
    assert message.format(root=root) in lines[0]
    assert not any((tmp_path / o).exists() for o in OUTPUTS)


def test_stage_on_a_dataset_without_attributes_writes_empty_outputs(stage_inputs, tmp_path):
    root, _ = stage_inputs
    proc = run_stage(root, tmp_path, index="plain.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no attribute columns" in proc.stderr
    assert all((tmp_path / o).is_file() for o in OUTPUTS)
    assert read_csv(tmp_path / OUTPUTS[1]) == (["kind", "index", "attribute", "r"], [])
    assert read_csv(tmp_path / OUTPUTS[2])[1] == []
    assert read_csv(tmp_path / OUTPUTS[6]) == (["attribute", "largest_other", "metric", "score"], [])
    assert json.loads((tmp_path / OUTPUTS[5]).read_text()) == {
        "attributes": {"strongest_component_r": None, "judge_mean_balanced_accuracy": None}}
    with np.load(tmp_path / OUTPUTS[0]) as f:
        assert f["names"].shape == (0,) and f["directions"].shape == (0, LATENT)
