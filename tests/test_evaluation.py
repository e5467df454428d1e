"""The evaluate stage's recipe (evaluation.py) and the samples directory contract (sample_sets.py)."""

import json

import numpy as np
import pytest

from latentspace import evaluation, sample_sets
from latentspace.io import InputError


def test_set_quality_identical_and_far_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    same = evaluation.set_quality(real, real.copy(), k_precision=3, k_density=5)
    assert list(same) == list(evaluation.QUALITY_KEYS)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["frechet"] == pytest.approx(0.0, abs=1e-9)
    far = evaluation.set_quality(real, real + 100.0, k_precision=3, k_density=5)
    assert far["precision"] == far["recall"] == far["density"] == far["coverage"] == 0.0
    assert far["frechet"] == pytest.approx(8 * 100.0**2, rel=1e-9)  # same covariance, mean moved by 100 per axis


def test_table_rows_flatten_every_setting_in_order():
    result = {"in_core": 0.5, "latent": dict.fromkeys(evaluation.QUALITY_KEYS, 0.1),
              "reencoded": dict.fromkeys(evaluation.QUALITY_KEYS, 0.2),
              "memorisation": {"nn_median": 3.0, "ratio_to_real": 1.1, "near_copy_fraction": 0.0}}
    header, rows = evaluation.table_rows({"real": result, "normal_scale_01_00": {**result, "in_core": 0.9}})
    assert header[:3] == ["setting", "in_core", "latent_precision"]
    assert header[-3:] == ["nn_median", "ratio_to_real", "near_copy_fraction"] and "fid" not in header
    assert [r[0] for r in rows] == ["real", "normal_scale_01_00"] and rows[1][1] == 0.9
    assert all(len(r) == len(header) for r in rows)
    header, rows = evaluation.table_rows({"real": {**result, "fid": 7.0}})
    assert header[-1] == "fid" and rows[0][-1] == 7.0


def scores_of(frechet, precision=0.5, recall=0.5, in_core=0.9):
    return {"in_core": in_core, "latent_frechet": 99.0, "reencoded_frechet": frechet,
            "reencoded_precision": precision, "reencoded_recall": recall, "nn_median": 1.0}


def test_best_per_sampler_picks_each_samplers_lowest_reencoded_frechet_with_its_value():
    scores = {"real": scores_of(1.0, 0.8, 0.7),
              "uniform_b_01_00": scores_of(5.0, 0.1, 0.2), "uniform_b_01_50": scores_of(3.0, 0.3, 0.4, in_core=0.1),
              "mixture_k_02": scores_of(7.0), "mixture_k_10": scores_of(2.0, 0.6, 0.65), "mixture_k_20": scores_of(2.5),
              "intervals_fact_00_50": scores_of(4.0, 0.2, 0.1)}
    which = {"real": ("real", "", None),
             "uniform_b_01_00": ("uniform", "b", 1.0), "uniform_b_01_50": ("uniform", "b", 1.5),
             "mixture_k_02": ("mixture", "k", 2), "mixture_k_10": ("mixture", "k", 10),
             "mixture_k_20": ("mixture", "k", 20), "intervals_fact_00_50": ("intervals", "fact", 0.5)}
    best = evaluation.best_per_sampler(scores, which)
    assert best == {  # the value and the score that chose it: precision and recall are rows of the CSV
        "real": {"reencoded_frechet": 1.0},  # no param
        "uniform": {"b": 1.5, "reencoded_frechet": 3.0},
        "mixture": {"k": 10, "reencoded_frechet": 2.0},
        "intervals": {"fact": 0.5, "reencoded_frechet": 4.0},
    }
    assert list(best) == ["real", "uniform", "mixture", "intervals"]  # in the settings' order
    assert [list(v) for v in best.values()][1] == ["b", *evaluation.HEADLINE_KEYS]  # the value first

    # against the naive choice: the lowest Fréchet distance among each sampler's settings
    for sampler, headline in best.items():
        own = [name for name, (s, _, _) in which.items() if s == sampler]
        assert headline["reencoded_frechet"] == min(scores[name]["reencoded_frechet"] for name in own)


def test_best_per_sampler_keeps_the_first_of_equal_distances():
    scores = {"normal_scale_00_50": scores_of(2.0, precision=0.1), "normal_scale_01_00": scores_of(2.0, precision=0.9)}
    which = {"normal_scale_00_50": ("normal", "scale", 0.5), "normal_scale_01_00": ("normal", "scale", 1.0)}
    assert evaluation.best_per_sampler(scores, which) == {"normal": {"scale": 0.5, "reencoded_frechet": 2.0}}
    assert evaluation.best_per_sampler({}, {}) == {}


def test_flat_scores_in_a_fixed_order_with_fid_only_when_scored():
    result = {"in_core": 0.5, "latent": {k: 0.1 for k in evaluation.QUALITY_KEYS},
              "reencoded": {k: 0.2 for k in evaluation.QUALITY_KEYS},
              "memorisation": {"nn_median": 3.0, "ratio_to_real": 1.1, "near_copy_fraction": 0.0}}
    flat = evaluation.flat_scores(result)
    assert list(flat) == ["in_core", *(f"latent_{k}" for k in evaluation.QUALITY_KEYS),
                          *(f"reencoded_{k}" for k in evaluation.QUALITY_KEYS),
                          "nn_median", "ratio_to_real", "near_copy_fraction"]
    assert flat["reencoded_frechet"] == 0.2 and flat["latent_frechet"] == 0.1
    assert list(evaluation.flat_scores({**result, "fid": 7.0}))[-1] == "fid"
    assert set(evaluation.HEADLINE_KEYS) <= set(flat)


@pytest.mark.parametrize("sampler, param, value, name", [
    ("intervals", "fact", 1.5, "intervals fact=1.5"),
    ("intervals", "fact", 1.0, "intervals fact=1"),  # no trailing zeros
    ("normal", "scale", 0.25, "normal scale=0.25"),
    ("mixture", "k", 10, "mixture k=10"),
    ("uniform", "b", 2, "uniform b=2"),
    ("real", "", None, "real"),  # the baseline: the sampler alone
    ("uniform", "", 1.5, "uniform"),  # a manifest that does not name the param
    ("uniform", "b", None, "uniform"),
])
def test_setting_name(sampler, param, value, name):
    assert sample_sets.setting_name(sampler, param, value) == name
    assert sample_sets.setting_keys(sampler, param, value) == [name, sampler, param, value]
    assert sample_sets.SampleSet("f.npy", sampler, "label", np.zeros((1, 2)), param, value).setting == name
    assert len(sample_sets.setting_keys(sampler, param, value)) == len(sample_sets.SETTING_KEYS)


def test_setting_name_defaults_to_the_sampler():
    assert sample_sets.setting_name("mixture") == "mixture"
    assert sample_sets.SampleSet("mixture_k_10.npy", "mixture", "k = 10", np.zeros((1, 2))).setting == "mixture"


def write_samples(directory, entries, arrays):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(entries))
    for name, array in arrays.items():
        np.save(directory / name, array)
    return directory


def test_load_sample_sets_reads_the_manifest_in_order(tmp_path):
    entries = [{"file": "uniform_b_01.50.npy", "sampler": "uniform", "label": "b = 1.5"},
               {"file": "mixture_k_10.npy", "sampler": "mixture", "label": "k = 10"}]
    arrays = {"uniform_b_01.50.npy": np.ones((4, 3), np.float32), "mixture_k_10.npy": np.zeros((2, 3), np.float32)}
    sets = sample_sets.load_sample_sets(write_samples(tmp_path / "s", entries, arrays), 3)
    assert [s.column for s in sets] == ["uniform_b_01_50", "mixture_k_10"]
    assert [s.sampler for s in sets] == ["uniform", "mixture"] and sets[0].vectors.shape == (4, 3)
    # a manifest without param and value (as written before the sample stage listed them): the sampler alone
    assert [(s.param, s.value, s.setting) for s in sets] == [("", None, "uniform"), ("", None, "mixture")]


def test_load_sample_sets_reads_each_settings_param_and_value(tmp_path):
    entries = [{"file": "uniform_b_01.50.npy", "sampler": "uniform", "param": "b", "value": 1.5, "label": "b = 1.5"},
               {"file": "mixture_k_10.npy", "sampler": "mixture", "param": "k", "value": 10, "label": "k = 10"}]
    arrays = {"uniform_b_01.50.npy": np.ones((4, 3), np.float32), "mixture_k_10.npy": np.zeros((2, 3), np.float32)}
    sets = sample_sets.load_sample_sets(write_samples(tmp_path / "s", entries, arrays), 3)
    assert [(s.param, s.value) for s in sets] == [("b", 1.5), ("k", 10)]
    assert [s.setting for s in sets] == ["uniform b=1.5", "mixture k=10"]
    assert [s.column for s in sets] == ["uniform_b_01_50", "mixture_k_10"]


@pytest.mark.parametrize("entries, arrays, message", [
    ([], {}, "non-empty list"),
    ([{"file": "a.npy", "label": "a"}], {"a.npy": np.ones((2, 3))}, "needs 'file', 'sampler' and 'label'"),
    ([{"file": "a.npy", "sampler": "s", "label": "a"}], {"a.npy": np.ones((2, 4))},
     "vectors of 4 components, but the model's latent space has 3"),
    ([{"file": "a.npy", "sampler": "s", "label": "a"}], {"a.npy": np.ones((0, 3))}, "shape (n >= 1, dim); got float64"),
    ([{"file": "a.npy", "sampler": "s", "label": "a"}], {"a.npy": np.array([[0, 0, 0], [0, np.inf, 0]])},
     "vector 1 has inf in component 1; latent vectors must be finite"),
    ([{"file": "a.b.npy", "sampler": "s", "label": "a"}, {"file": "a_b.npy", "sampler": "s", "label": "b"}],
     {"a.b.npy": np.ones((2, 3)), "a_b.npy": np.ones((2, 3))}, "distinct columns"),
    ([{"file": "real.npy", "sampler": "s", "label": "a"}], {"real.npy": np.ones((2, 3))}, "distinct columns"),
])
def test_load_sample_sets_rejects_bad_directories(tmp_path, entries, arrays, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sample_sets.load_sample_sets(write_samples(tmp_path / "s", entries, arrays), 3)


def test_load_sample_sets_names_a_missing_or_broken_manifest(tmp_path):
    with pytest.raises(InputError, match="manifest.json"):
        sample_sets.load_sample_sets(tmp_path, 3)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        sample_sets.load_sample_sets(tmp_path, 3)


def test_set_quality_with_the_reference_radii_found_once_gives_the_same_numbers():
    rng = np.random.default_rng(1)
    reference, vectors = rng.normal(size=(200, 6)), rng.normal(0.2, 1.1, size=(150, 6))
    radii = evaluation.reference_radii(reference, k_precision=3, k_density=5)
    assert sorted(radii) == [3, 5]
    assert evaluation.set_quality(reference, vectors, k_precision=3, k_density=5, reference_radii=radii) == \
        evaluation.set_quality(reference, vectors, k_precision=3, k_density=5)
    # radii of another set are not silently used
    with pytest.raises(ValueError, match="real_radii"):
        evaluation.set_quality(reference, vectors, k_precision=3, k_density=5,
                               reference_radii={3: radii[3][:-1], 5: radii[5]})
