"""The writers of the stages' metrics and long-format plot tables (latentspace.io), read back as
`dvc metrics` and `dvc plots` read them: JSON, and CSV through csv.reader."""

import csv
import json

import numpy as np

from latentspace.io import save_metrics, save_scores_csv, save_series_csv


def read_rows(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_series_csv_has_one_row_per_series_and_x(tmp_path):
    x = np.array([0.5, 1.25, 2.0])
    curves = {"real": np.array([0.1, 0.2, 0.7]), "uniform b=1.5": np.array([1 / 3, 0.0, 2.5e-7])}
    save_series_csv(tmp_path / "radii.csv", "radius", x, curves)
    assert read_rows(tmp_path / "radii.csv") == [
        ["radius", "series", "density"],
        ["0.5000", "real", "0.1"], ["1.2500", "real", "0.2"], ["2.0000", "real", "0.7"],
        ["0.5000", "uniform b=1.5", "0.333333"], ["1.2500", "uniform b=1.5", "0"],
        ["2.0000", "uniform b=1.5", "2.5e-07"],
    ]


def test_series_csv_names_its_y_column_and_writes_the_header_alone_without_curves(tmp_path):
    save_series_csv(tmp_path / "a.csv", "M", np.array([10.0]), {"t=0.5": np.array([4.0])}, y_name="pairs")
    assert read_rows(tmp_path / "a.csv") == [["M", "series", "pairs"], ["10.0000", "t=0.5", "4"]]
    save_series_csv(tmp_path / "b.csv", "distance", np.array([1.0, 2.0]), {})
    assert read_rows(tmp_path / "b.csv") == [["distance", "series", "density"]]


def test_scores_csv_has_one_row_per_metric_with_empty_none_and_0_1_booleans(tmp_path):
    keys = ("setting", "sampler", "param", "value")
    rows = [
        (["real", "real", "", None], {"in_core": 0.5, "fid": None, "converged": True}),
        (["mixture k=10", "mixture", "k", np.int64(10)],
         {"in_core": np.float32(0.25), "fid": 1 / 3, "converged": np.bool_(False)}),
        (["intervals fact=1.5", "intervals", "fact", 1.5], {"n_fitted": np.int32(7), "largest": "Male"}),
    ]
    save_scores_csv(tmp_path / "scores.csv", keys, iter(rows))  # any iterable, e.g. a generator
    assert read_rows(tmp_path / "scores.csv") == [
        ["setting", "sampler", "param", "value", "metric", "score"],
        ["real", "real", "", "", "in_core", "0.5"],
        ["real", "real", "", "", "fid", ""],
        ["real", "real", "", "", "converged", "1"],
        ["mixture k=10", "mixture", "k", "10", "in_core", "0.25"],
        ["mixture k=10", "mixture", "k", "10", "fid", "0.333333"],
        ["mixture k=10", "mixture", "k", "10", "converged", "0"],
        ["intervals fact=1.5", "intervals", "fact", "1.5", "n_fitted", "7"],
        ["intervals fact=1.5", "intervals", "fact", "1.5", "largest", "Male"],
    ]


def test_scores_csv_formats_key_values_like_scores_and_writes_a_header_without_rows(tmp_path):
    save_scores_csv(tmp_path / "by_b.csv", ["b"], [([1.0], {"in_core": 1.0}), ([2.5], {"in_core": 0.0}),
                                                   ([True], {"in_core": 12345678.0})])
    assert read_rows(tmp_path / "by_b.csv") == [["b", "metric", "score"], ["1", "in_core", "1"],
                                                ["2.5", "in_core", "0"], ["1", "in_core", "1.23457e+07"]]
    save_scores_csv(tmp_path / "empty.csv", ("attribute", "largest_other"), [])
    assert read_rows(tmp_path / "empty.csv") == [["attribute", "largest_other", "metric", "score"]]


def test_metrics_file_has_one_top_level_key_named_after_its_stem(tmp_path):
    numbers = {"loss": 0.25, "val_loss": 0.5, "nested": {"k": 10, "fit": None}}
    save_metrics(tmp_path / "metrics" / "train.json", numbers)  # the folder is created
    assert json.loads((tmp_path / "metrics" / "train.json").read_text()) == {"train": numbers}
    save_metrics(tmp_path / "metrics" / "sampling.json", {})
    assert json.loads((tmp_path / "metrics" / "sampling.json").read_text()) == {"sampling": {}}
    # written again: replaced, not merged
    save_metrics(tmp_path / "metrics" / "train.json", {"loss": 1.0})
    assert json.loads((tmp_path / "metrics" / "train.json").read_text()) == {"train": {"loss": 1.0}}
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == ["sampling.json", "train.json"]  # no temporaries


def stage_error(main, capsys) -> list[str]:
    """Run ``main`` as a stage does; its exit status must be 2, and stderr is returned as lines."""
    import pytest

    from latentspace.io import run_stage

    with pytest.raises(SystemExit) as ended:
        run_stage(main)
    assert ended.value.code == 2
    return capsys.readouterr().err.splitlines()


def test_a_library_error_names_the_sections_the_stage_read(tmp_path, capsys, monkeypatch):
    """A param that passes its checks can still be refused inside a library: the one line says which
    library, its message, and which sections of params.yaml the stage had read."""
    import shutil

    from latentspace import params

    monkeypatch.delenv("LATENTSPACE_DEBUG", raising=False)
    monkeypatch.setattr(params, "_SECTIONS_READ", [])
    shutil.copy("params.yaml", tmp_path / "params.yaml")

    def main():
        n = params.load_params(tmp_path / "params.yaml")["neighbours"]["n_real"]
        np.random.default_rng(0).choice(3, size=n, replace=False)  # NumPy refuses: a larger sample than there is

    assert stage_error(main, capsys) == [
        "error: numpy raised ValueError: Cannot take a larger sample than population when replace is False; likely "
        "a value of neighbours.* in params.yaml (what each key allows: docs/params.md); LATENTSPACE_DEBUG=1 shows "
        "the traceback"]


def test_our_own_errors_and_running_out_of_memory(capsys, monkeypatch):
    from latentspace import params
    from latentspace.io import InputError

    monkeypatch.delenv("LATENTSPACE_DEBUG", raising=False)
    monkeypatch.setattr(params, "_SECTIONS_READ", ["stats"])

    def ours():
        raise InputError("data/z.npy: not a readable .npy array")

    def too_big():
        raise MemoryError("Unable to allocate 2.00 TiB for an array with shape (1000000, 1000000)")

    assert stage_error(ours, capsys) == ["error: data/z.npy: not a readable .npy array"]
    assert stage_error(too_big, capsys) == [
        "error: out of memory: Unable to allocate 2.00 TiB for an array with shape (1000000, 1000000); likely a "
        "value of stats.* in params.yaml (what each key allows: docs/params.md); LATENTSPACE_DEBUG=1 shows the "
        "traceback"]
