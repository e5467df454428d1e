"""The repository ships the default run: dvc.lock, metrics/, plots/, dvclive/ and report/.

A fresh clone shows results at once and `dvc metrics diff` / `dvc plots diff` compare against
them, so the committed lock must match the code and params it records, every output it records
must be the committed file, and no tracked output may hold a timing (the same params give the
same bytes: `git status` after `make repro` is the proof).
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCK = REPO / "dvc.lock"
pytestmark = pytest.mark.skipif(not LOCK.exists(), reason="dvc.lock is not committed")


def lock_outs(cache: bool) -> dict[str, dict]:
    """Outputs recorded in dvc.lock whose dvc.yaml entry has (cache: true) or has not DVC's cache."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    uncached = {next(iter(o)) for s in stages.values() for o in s["outs"]
                if isinstance(o, dict) and next(iter(o.values())).get("cache") is False}
    lock = yaml.safe_load(LOCK.read_text())["stages"]
    return {o["path"]: o for s in lock.values() for o in s.get("outs", []) if (o["path"] not in uncached) == cache}


def tree_md5(path: Path) -> dict[str, str]:
    return {str(f.relative_to(REPO)): hashlib.md5(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file()}


def test_lock_matches_the_code_params_and_commands():
    """`dvc status` finds no stage whose command, source files or params differ from the lock.
    Only cached data (data/, models/) may be missing: a fresh clone has no DVC cache."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["dvc", "status", "--json"], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cached = set(lock_outs(cache=True))
    stale = []
    for stage, changes in json.loads(proc.stdout or "{}").items():
        for change in changes:
            if not isinstance(change, dict):  # "changed checksum" of the lock itself, "always changed"
                stale.append((stage, change))
                continue
            for kind, files in change.items():
                for path, state in files.items():
                    if not (state in ("deleted", "not in cache") and any(path == c or path.startswith(c + "/")
                                                                        for c in cached)):
                        stale.append((stage, kind, path, state))
    assert not stale, f"dvc.lock is stale: run `make repro` and commit dvc.lock with the outputs: {stale}"


def test_committed_outputs_are_the_ones_the_lock_records():
    """Every uncached output (metrics, plots, dvclive, report) is the committed file the lock hashes."""
    for path, out in lock_outs(cache=False).items():
        target = REPO / path
        assert target.exists(), f"{path}: recorded in dvc.lock but not in the repository"
        if target.is_file():
            assert hashlib.md5(target.read_bytes()).hexdigest() == out["md5"], f"{path} differs from dvc.lock"
        else:
            assert len(tree_md5(target)) == out["nfiles"], f"{path}: other files than dvc.lock records"


def test_tracked_outputs_hold_no_timings():
    """Seconds, rates and timestamps vary run to run: they go to the stage logs and bench/, never
    into a tracked output."""
    timing = ("seconds", "per_s", "timestamp", "duration", "resumed")
    for path in lock_outs(cache=False):
        for f in ([REPO / path] if (REPO / path).is_file() else (REPO / path).rglob("*")):
            if f.suffix in (".json", ".csv", ".tsv"):
                text = f.read_text()
                head = text if f.suffix == ".json" else text.splitlines()[0] if text else ""
                assert not [t for t in timing if t in head], f"{f.relative_to(REPO)} records a timing"


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_metric_names_are_unique_and_few():
    """`dvc metrics show` and `dvc exp show` columns: one top-level key per file (its stem), no metric
    named like a param (DVC would prefix both with their files), and headline numbers only."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    params = set(flat(yaml.safe_load((REPO / "params.yaml").read_text())))
    names = []
    for path in dvc["metrics"]:
        metrics = json.loads((REPO / path).read_text())
        assert list(metrics) == [Path(path).stem], path
        names += flat(metrics)
    assert len(names) == len(set(names)) and not set(names) & params, set(names) & params
    assert len(names) <= 64, f"{len(names)} headline numbers: move the rest to long-format CSV under plots/"
