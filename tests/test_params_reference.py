"""docs/params.md is generated from the schema, params.yaml, dvc.yaml and one description per key,
so it cannot drift from the code."""

from pathlib import Path

import yaml

from latentspace import params, params_reference
from latentspace.params_reference import DESCRIPTIONS, leaf_keys

REPO = Path(__file__).resolve().parents[1]


def test_every_key_of_the_schema_has_one_description_in_schema_order():
    assert list(DESCRIPTIONS) == leaf_keys(params.SCHEMA)
    assert len(DESCRIPTIONS) > 100


def test_leaf_keys_are_the_keys_of_params_yaml():
    assert leaf_keys(yaml.safe_load((REPO / "params.yaml").read_text())) == leaf_keys(params.SCHEMA)


def test_docs_params_md_is_what_the_generator_writes():
    assert params_reference.main(["--repo", str(REPO), "--check"]) == 0, \
        "docs/params.md is out of date: run `make params-doc`"


def test_a_row_holds_the_default_the_allowed_values_the_readers_and_the_off_switch(tmp_path):
    page = params_reference.build(REPO)
    row = next(line for line in page.splitlines() if line.startswith("| `paths.axes` |"))
    default = yaml.safe_load((REPO / "params.yaml").read_text())["paths"]["axes"]
    assert row.startswith(f"| `paths.axes` | `{default}` | integer, 0 to 32 | `paths` | ")
    assert row.endswith("**0:** no principal-axis path is decoded. |")
    row = next(line for line in page.splitlines() if line.startswith("| `normality.test_size` |"))
    assert "| `normality`, `report` |" in row  # the report quotes normality.test_size
    for section in params.SECTIONS:
        assert f"## `{section}`" in page


def test_descriptions_stay_short():
    long = {key: len(text) for key, text in DESCRIPTIONS.items() if len(text) > 260}
    assert not long, f"descriptions over 260 characters (the reference's rows stay readable): {long}"
