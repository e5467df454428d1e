"""dvc.yaml lists exactly what each stage uses, so DVC re-runs what changed and nothing else."""

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "latentspace"
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def package_imports(path: Path) -> set[str]:
    """Modules of the package imported by one file, as paths under src/latentspace without suffix:
    `from latentspace import x` or `latentspace.x` -> "x"; `from latentspace.samplers.uniform import f`
    -> "samplers/uniform" (one module of a subpackage, not all of it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            if node.module == PACKAGE:
                found |= {alias.name for alias in node.names}
            else:
                found.add("/".join(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            found |= {"/".join(a.name.split(".")[1:]) for a in node.names if a.name.startswith(PACKAGE + ".")}
    return found


def transitive_modules(script: Path) -> set[str]:
    """Modules and subpackages (a whole subpackage is one dep: its directory) a script uses."""
    todo, seen = list(package_imports(script)), set()
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            path = REPO / "src" / PACKAGE / module
            for file in sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]:
                todo += package_imports(file)
    # a module inside a subpackage that is a dep as a whole is already covered by the directory
    return {m for m in seen if not any(m.startswith(d + "/") for d in seen)}


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_source_deps_are_exactly_its_imports(name):
    stage = STAGES[name]
    script = REPO / "stages" / f"{name}.py"
    assert f"stages/{name}.py" in stage["deps"] and f"python stages/{name}.py" in stage["cmd"]
    listed = {str(Path(d).relative_to(f"src/{PACKAGE}").with_suffix("")) for d in stage["deps"]
              if d.startswith(f"src/{PACKAGE}/")}
    assert listed == transitive_modules(script) | schema_modules(stage)


def schema_modules(stage: dict) -> set[str]:
    """The schema modules of the sections a stage reads: ``params.validate`` imports every section's
    by name (so no import statement shows them), but only a stage's own sections shape its values."""
    return {f"schema/{key.split('.')[0]}" for key in stage.get("params", [])}


def test_a_schema_edit_re_runs_only_the_stages_that_read_its_section():
    from latentspace.params import SECTIONS

    for section in SECTIONS:
        module = f"src/{PACKAGE}/schema/{section}.py"
        assert (REPO / module).is_file()
        depending = {name for name, stage in STAGES.items() if module in stage["deps"]}
        reading = {name for name, stage in STAGES.items() if section in {k.split(".")[0] for k in stage.get("params", [])}}
        assert depending == reading, section
    assert not any(f"src/{PACKAGE}/schema/sample.py" in STAGES[name]["deps"] for name in ("train", "encode"))


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_params_are_exactly_the_sections_it_reads(name):
    text = (REPO / "stages" / f"{name}.py").read_text()
    # params["data"]["archive"] reads "data.archive": listed as such, or within its listed section
    chains = re.findall(r'(?:load_params\([^)]*\)|\bparams)((?:\["\w+"\])+)', text)
    read = {".".join(re.findall(r'"(\w+)"', chain)[:2]) for chain in chains}
    listed = set(STAGES[name]["params"])
    assert {key if key in listed else key.split(".")[0] for key in read} == listed


def plot_id(entry) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def test_outline_lists_every_plot_of_dvc_yaml_in_order():
    """The page's headings and the report's sections come from the outline: dvc.yaml's plots,
    in the same order, each in exactly one section."""
    from latentspace.outline import SECTIONS, plot_ids

    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    assert plot_ids() == [plot_id(p) for p in plots]
    assert len({s.key for s in SECTIONS}) == len(SECTIONS) and all(s.question.endswith("?") for s in SECTIONS)
    # DVC writes a curve's id into an inline script between single quotes: a quote there breaks the page
    assert not [p for p in plot_ids() if "'" in p or '"' in p or "\\" in p]


PARAM_VALUE = re.compile(r"\d_\d|_b\d|_k_\d|fact|scale|truncation|t_max")  # e.g. uniform_b1_5, mixture_k_10


def test_no_curve_names_a_param_value():
    """Curves whose series follow params (a b list, the sampler lists) are long-format CSV: dvc.yaml
    names the value column only, so a params change needs no edit here."""
    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    for entry in plots:
        if isinstance(entry, dict):
            (title, spec), = entry.items()
            fields = [f for y in spec["y"].values() for f in ([y] if isinstance(y, str) else y)]
            assert not [f for f in fields if PARAM_VALUE.search(f)], title
            assert spec.get("template") in {"series", "points", "bars"}, f"{title}: a template of .dvc/plots/"


def test_every_plot_and_metric_file_is_an_output_of_a_stage():
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    outs = {next(iter(o)) if isinstance(o, dict) else o for stage in STAGES.values() for o in stage["outs"]}
    files = set(dvc["metrics"])
    for p in dvc["plots"]:
        files |= {p} if isinstance(p, str) else set(next(iter(p.values()))["y"])
    for f in files:
        assert any(f == o or f.startswith(o + "/") for o in outs), f"{f} is not produced by any stage"
