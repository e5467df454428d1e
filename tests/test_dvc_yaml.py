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
    assert listed == transitive_modules(script)


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_params_are_exactly_the_sections_it_reads(name):
    text = (REPO / "stages" / f"{name}.py").read_text()
    # params["data"]["archive"] reads "data.archive": listed as such, or within its listed section
    chains = re.findall(r'(?:load_params\([^)]*\)|\bparams)((?:\["\w+"\])+)', text)
    read = {".".join(re.findall(r'"(\w+)"', chain)[:2]) for chain in chains}
    listed = set(STAGES[name]["params"])
    assert {key if key in listed else key.split(".")[0] for key in read} == listed


@pytest.mark.parametrize("title, csv, b_keys", [
    ("Radius", "plots/radii.csv", ("stats", "radius", "b")),
    ("Mahalanobis", "plots/mahalanobis.csv", ("geometry", "uniform", "b")),
])
def test_distance_plot_columns_follow_the_default_b_list(title, csv, b_keys):
    """The distance curves name their CSV columns in dvc.yaml; they must match params.yaml."""
    from latentspace.stats import uniform_column

    b_list = yaml.safe_load((REPO / "params.yaml").read_text())
    for key in b_keys:
        b_list = b_list[key]
    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    spec = next(next(iter(p.values())) for p in plots if isinstance(p, dict) and title in next(iter(p)))
    assert spec["y"][csv] == ["real", *map(uniform_column, b_list)]


def test_neighbour_plot_columns_follow_the_default_sampler_settings():
    from latentspace.sample_sets import column_name
    from latentspace.samplers import settings_from_params

    settings = settings_from_params(yaml.safe_load((REPO / "params.yaml").read_text())["sample"])
    plots = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    spec = next(next(iter(p.values())) for p in plots if isinstance(p, dict) and "nearest real" in next(iter(p)))
    assert spec["y"]["plots/neighbours.csv"] == ["real", *(column_name(s.name + ".npy") for s in settings)]


def test_every_plot_and_metric_file_is_an_output_of_a_stage():
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    outs = {next(iter(o)) if isinstance(o, dict) else o for stage in STAGES.values() for o in stage["outs"]}
    files = set(dvc["metrics"])
    for p in dvc["plots"]:
        files |= {p} if isinstance(p, str) else set(next(iter(p.values()))["y"])
    for f in files:
        assert any(f == o or f.startswith(o + "/") for o in outs), f"{f} is not produced by any stage"
