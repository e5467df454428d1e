"""params.yaml validation: every bad value is a one-line ParamsError naming the key."""

import copy
import warnings
from pathlib import Path

import pytest
import yaml

from latentspace import params
from latentspace.params import ParamsError, load_params, validate

REPO = Path(__file__).resolve().parents[1]

DEFAULTS = yaml.safe_load(open("params.yaml"))


def with_change(path: str, value):
    p = copy.deepcopy(DEFAULTS)
    *parents, last = path.split(".")
    node = p
    for key in parents:
        node = node[key]
    node[last] = value
    return p


def test_default_params_are_valid():
    assert load_params("params.yaml")["correlate"]["M"] == DEFAULTS["correlate"]["M"]


@pytest.mark.parametrize("path, value, message", [
    ("sample.uniform.b", [1.0, -1.0], r"sample\.uniform\.b\[1\] = -1\.0: must be > 0"),
    ("correlate.thresholds", [0.1, 1.5], r"correlate\.thresholds\[1\] = 1\.5: must be <= 1"),
    ("correlate.pair_threshold", -0.1, r"correlate\.pair_threshold = -0\.1: must be >= 0"),
    ("correlate.slice.components", [3, 256], r"correlate\.slice\.components\[1\] = 256: must be < model\.latent_dim \(256\)"),
    ("correlate.slice.components", [3, 3], "two different components"),
    ("correlate.M", 2.5, "correlate.M = 2.5: must be an integer"),
    ("train.epochs", True, "train.epochs = True: must be an integer"),
    ("train.optimizer", "adagrad", "must be one of adam, adamw, rmsprop, sgd"),
    ("model.batch_norm", "yes", "must be true or false"),
    ("model.strides", [2, 2, 2], "model.kernel_sizes"),
    ("prepare.image_size", 40, r"must be divisible by the product of model\.strides \(16\)"),
    ("prepare.crop", 4, "prepare.crop = 4: must be >= 8"),
    ("prepare.split.train_size", 1.5, r"train_size = 1.5: must be a count \(integer >= 1\) or a fraction"),
    ("prepare.split.train_size", 0, "must be a count"),
    ("prepare.split.method", "random", "must be one of first, official"),
    ("prepare.max_image_pixels", 10**9, "must be <= 89478485"),
    ("prepare.reducing_gap", 0.5, r"prepare\.reducing_gap = 0\.5: must be >= 1, or null \(full-resolution decoding\)"),
    ("prepare.reducing_gap", "full", "must be a number, or null"),
    ("data.source", "folder", r"data.folder.path = '': must name img_align_celeba.zip"),
    ("data.celeba.mirrors.images", [{"url": "ftp://x/y.zip", "md5": "0" * 32}], r"images\[0\].url = 'ftp://x/y.zip': must start with http"),
    ("data.celeba.mirrors.images", [{"drive": "abc", "md5": "xyz"}], r"images\[0\].md5 = 'xyz': must be the file's MD5"),
    ("data.celeba.mirrors.images", [{"drive": "a", "url": "https://a", "md5": "0" * 32}], "needs exactly one of url or drive"),
    ("data.celeba.mirrors.partition", [{"drive": "a", "md5": "0" * 32, "sha": 1}], "unknown field 'sha'"),
    ("data.celeba.mirrors.attributes", [], "must have at least 1 items"),
    ("data.source", "imagenet", "must be one of synthetic, celeba, folder"),
])
def test_bad_values_name_the_key_and_what_is_allowed(path, value, message):
    with pytest.raises(ParamsError, match=message) as info:
        validate(with_change(path, value))
    assert "\n" not in str(info.value)


def test_reducing_gap_may_be_null():
    assert validate(with_change("prepare.reducing_gap", None))["prepare"]["reducing_gap"] is None


def test_unknown_key_suggests_the_close_one():
    p = copy.deepcopy(DEFAULTS)
    p["sample"]["unifrom"] = p["sample"].pop("uniform")
    with pytest.raises(ParamsError, match=r"unknown key 'sample\.unifrom' \(did you mean 'uniform'\?\)"):
        validate(p)


def test_missing_key_and_bad_file(tmp_path):
    p = copy.deepcopy(DEFAULTS)
    del p["train"]["epochs"]
    with pytest.raises(ParamsError, match="missing key 'train.epochs'"):
        validate(p)
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ParamsError, match="cannot read"):
        load_params(tmp_path / "absent.yaml")


def test_at_most_shrinks_to_the_data_with_one_warning_naming_the_key():
    assert params.at_most("train.batch_size", 64, 100, "training images") == 64
    with pytest.warns(params.ParamsWarning, match=r"^params.yaml: train.batch_size = 640: more than the 100 "
                                                  r"training images; using 100$"):
        assert params.at_most("train.batch_size", 640, 100, "training images") == 100


def test_every_switch_off_is_a_legal_zero_or_empty_value_and_warns():
    defaults = params.load_params(REPO / "params.yaml")
    switches = {f"{section}.{key}": result for section in params.SECTIONS
                for key, result in getattr(params.section_schema(section), "SWITCHED_OFF", {}).items()}
    assert len(switches) >= 16  # every sampler's list, zero paths, ... (a test that finds none proves nothing)
    for key, result in switches.items():
        raw = yaml.safe_load((REPO / "params.yaml").read_text())
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            node = node[part]
        node[last] = [] if isinstance(node[last], list) else 0
        section = parents[0]
        with pytest.warns(params.ParamsWarning) as caught:
            params.warn_switched_off(section, params.validate(raw)[section])
        assert [str(w.message) for w in caught] == [f"params.yaml: {key} = {node[last]!r}: {result}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for section in defaults:
            params.warn_switched_off(section, defaults[section])  # the defaults turn nothing off
