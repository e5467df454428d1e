"""`dvc repro` from scratch, stage by stage, and `dvc repro` when nothing changed, in a fresh clone.

Goals: `make repro` from scratch on the default params in at most 5 minutes on 2 cores, and
`dvc repro` with nothing changed in at most 3 s.

The repository (HEAD, or --ref; --worktree adds the uncommitted changes) is `git clone`d into a
temporary folder, so the workspace, its outputs and its DVC cache are never touched. Stages run as
`make repro` runs them: this interpreter's bin folder (the virtualenv's, reused, not reinstalled)
first on PATH and TF_CPP_MIN_LOG_LEVEL=2; PYTHONPATH=<clone>/src makes them import the clone's
sources rather than the workspace's that the editable install points at.

--mode stages (default) runs `dvc repro --force --single-item <stage>` for each stage in the topological
order of `dvc dag --dot`: each stage's seconds include dvc's and the stage's own Python start-up,
and its peak memory is known. Their sum pays dvc's start-up once per stage, which one `dvc repro`
pays once; `total_one_run_estimate_s` takes the difference off, using `dvc stage list` (start dvc,
read dvc.yaml and params, check nothing) as the start-up. --mode once runs a single
`dvc repro --force`, what `make repro` runs on a clone without outputs, and splits it at dvc's
"Running stage" lines; no per-stage memory. Both force: a clone holds the committed metrics and
plots, which would leave the stages that only write those up to date.

Then `dvc repro` and `dvc status` with nothing changed (median of --repeats), checking that dvc
says "Data and pipelines are up to date." and that dvc.lock is left as it was.

CPU accounting (Linux): each stage's row, and the run's, has the shares of all cores' time that
were busy, idle and stolen by the VM's host ("steal", /proc/stat), and the report a float32 matmul
rate taken before and after the run; a slow run with a high steal share ran on a slow machine.

Peak memory (--mode stages): wait4's ru_maxrss for the stage's `dvc repro` process, i.e. the
largest peak resident set of any ONE process in its tree (dvc, the stage's Python, each of its
worker processes), not the sum of processes alive at the same time.

The real measurement (default params, about 8 minutes; on a quiet machine, from the repository
root, after `make install`):

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/bench_repro.py            # -> bench/results/repro.json
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/bench_repro.py --mode once --out bench/results/repro_once.json

A smoke test with tiny sizes (2 to 4 minutes on a busy 2-core machine: start-up, not work, dominates;
its report says the goals do not apply and its default --out is bench/results/repro_smoke.json):

    .venv/bin/python bench/bench_repro.py --tiny --out /tmp/repro_tiny.json
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from common import cpu_shares, cpu_times, machine_info, speed_probe

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
GOAL_TOTAL_S = 300.0
GOAL_NOOP_S = 3.0
UP_TO_DATE = "Data and pipelines are up to date."
# Every size shrunk so that all 14 stages run in about a minute on 2 cores and still do their work
# (600 images: 510 train the autoencoder, 90 are held out).
TINY = {
    "data.synthetic.n_images": 600,
    "train.epochs": 1,
    "train.validation_images": 50,
    "stats.radius.n_uniform": 500,
    "geometry.uniform.n": 500,
    "correlate.M": 300,
    "correlate.m_curve": [100, 200],
    "normality.test_size": 300,
    "normality.max_points": 500,
    "paths.axes": 2,
    "paths.components": 2,
    "paths.interpolation.pairs": 2,
    "attributes.judge.n_train": 300,
    "attributes.judge.n_test": 100,
    "neighbours.n_real": 200,
    "sample.n": 24,
    "sample.mixture.k": [2],
    "sample.mixture.fit_rows": 500,
    "sample.mixture.max_iter": 20,
    "evaluate.n_reference": 80,
    "evaluate.fid.n": 20,
}


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``cmd`` to completion, stdout and stderr captured together; exits with its output if it fails."""
    done = subprocess.run(cmd, check=False, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        sys.exit(f"`{' '.join(cmd)}` failed ({done.returncode}) in {cwd}:\n{done.stdout[-3000:]}")
    return done


def run_measured(cmd: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, int, float]:
    """Run ``cmd`` with its output in ``log``: (wall seconds, exit code, peak RSS in MiB of the
    largest single process of its tree, from wait4)."""
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def timed_repeats(cmd: list[str], cwd: Path, env: dict, repeats: int) -> tuple[list[float], list[str]]:
    """Wall seconds and output of ``repeats`` runs of ``cmd`` (each must succeed)."""
    seconds, outputs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs.append(run(cmd, cwd, env).stdout)
        seconds.append(time.perf_counter() - start)
    return seconds, outputs


def parse_override(text: str) -> tuple[str, object]:
    """``key.sub=value`` with ``value`` read as YAML (``[2]`` is a list, ``1`` an int)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected key=value, e.g. train.epochs=1")
    return key.strip(), yaml.safe_load(value)


def apply_overrides(params_file: Path, overrides: dict) -> None:
    """Write ``overrides`` (dotted keys that must already exist) into ``params_file``."""
    params = yaml.safe_load(params_file.read_text())
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            sys.exit(f"--set {key}: no such key in params.yaml")
        node[leaf] = value
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def clone(repo: Path, ref: str, dest: Path, with_worktree: bool) -> str:
    """Clone ``repo`` at ``ref`` into ``dest``; with ``with_worktree``, copy the workspace's
    modified and untracked (not ignored) files over it and delete what it deleted. The commit."""
    commit = run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], repo).stdout.strip()
    run(["git", "clone", "--quiet", "--no-checkout", str(repo), str(dest)], repo)
    run(["git", "checkout", "--quiet", commit], dest)
    if with_worktree:
        changed = run(["git", "ls-files", "-z", "--modified", "--others", "--exclude-standard"], repo).stdout
        deleted = set(run(["git", "ls-files", "-z", "--deleted"], repo).stdout.split("\0")) - {""}
        for name in set(changed.split("\0")) - {""} - deleted:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, dest / name)
        for name in deleted:
            (dest / name).unlink(missing_ok=True)
    return commit


def stage_order(dot: str) -> list[str]:
    """The stages of ``dvc dag --dot`` in a topological order (edges point from a stage to the
    stages that need its outputs), ties broken by the order dvc lists them (dvc.yaml's)."""
    nodes = re.findall(r'^"([^"]+)";$', dot, re.MULTILINE)
    edges = re.findall(r'^"([^"]+)" -> "([^"]+)";$', dot, re.MULTILINE)
    needs = {n: {a for a, b in edges if b == n} for n in nodes}
    order: list[str] = []
    while len(order) < len(nodes):
        ready = [n for n in nodes if n not in order and needs[n] <= set(order)]
        if not ready:
            sys.exit(f"`dvc dag --dot` is not acyclic:\n{dot}")
        order.append(ready[0])
    return order


def run_stages(stages: list[str], workdir: Path, env: dict, logs: Path) -> dict:
    """``dvc repro --single-item`` for each stage in turn: seconds and peak RSS per stage."""
    results = {}
    for stage in stages:
        log = logs / f"{stage}.log"
        cpu_before = cpu_times()
        seconds, code, peak_mib = run_measured(["dvc", "repro", "--force", "--single-item", stage], workdir, env, log)
        text = log.read_text()
        if code or f"Running stage '{stage}'" not in text:
            sys.exit(f"stage {stage} failed or did not run (exit {code}), log {log}:\n{text[-3000:]}")
        results[stage] = {"seconds": seconds, "peak_rss_mib": peak_mib, "cpu": cpu_shares(cpu_before, cpu_times())}
        print(f"  {stage:11s} {seconds:7.1f} s   peak {peak_mib:6.0f} MiB", flush=True)
    return results


def run_once(stages: list[str], workdir: Path, env: dict, logs: Path) -> tuple[dict, float, float]:
    """One ``dvc repro --force`` (a clone holds the committed plots and metrics, which would leave
    the later stages up to date); each stage's seconds run from dvc's "Running stage" line for it to the
    next one (the last stage's to dvc's exit). Also dvc's start-up before the first stage and
    the peak RSS of the largest single process of the whole run. Each stage's row also has the
    shares of all cores' time it kept busy, left idle and lost to the hypervisor (steal)."""
    marks: list[tuple[str, float, dict | None]] = []
    log = logs / "repro.log"
    # unbuffered, so that dvc's lines reach the pipe when printed, not when its buffer fills
    proc_env = {**env, "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(["dvc", "repro", "--force"], cwd=workdir, env=proc_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

        def read():
            for line in proc.stdout:
                found = re.match(r"Running stage '([^']+)'", line)
                if found:
                    marks.append((found.group(1), time.perf_counter(), cpu_times()))
                    print(f"  {found.group(1)} ...", flush=True)
                out.write(line)

        reader = threading.Thread(target=read)
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        end, cpu_end = time.perf_counter(), cpu_times()
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    ran = [name for name, _, _ in marks]
    if proc.returncode or sorted(ran) != sorted(stages):
        sys.exit(f"`dvc repro` failed (exit {proc.returncode}) or ran {ran}, log {log}:\n{log.read_text()[-3000:]}")
    ends = [(t, cpu) for _, t, cpu in marks[1:]] + [(end, cpu_end)]
    results = {name: {"seconds": stop - begin, "cpu": cpu_shares(cpu_begin, cpu_stop)}
               for (name, begin, cpu_begin), (stop, cpu_stop) in zip(marks, ends)}
    peak_mib = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return results, marks[0][1] - start, peak_mib


def installed_version(*distributions: str) -> str | None:
    """The version of the first of ``distributions`` that is installed, or None."""
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="git repository to clone")
    parser.add_argument("--ref", default="HEAD", help="commit, branch or tag to clone")
    parser.add_argument("--worktree", action="store_true",
                        help="also copy the workspace's uncommitted changes and untracked files into the clone")
    parser.add_argument("--set", dest="overrides", type=parse_override, action="append", default=[],
                        metavar="KEY=VALUE", help="params.yaml override in the clone (value read as YAML)")
    parser.add_argument("--tiny", action="store_true", help="apply the built-in tiny sizes (smoke test)")
    parser.add_argument("--mode", choices=["stages", "once"], default="stages")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the no-op `dvc repro` and `dvc status`")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    parser.add_argument("--out", type=Path, help="default bench/results/repro.json, or repro_smoke.json "
                                                 "when params are overridden")
    args = parser.parse_args()

    overrides = {**(TINY if args.tiny else {}), **dict(args.overrides)}
    out = args.out or RESULTS / ("repro_smoke.json" if overrides else "repro.json")
    bin_dir = Path(sys.executable).parent  # not resolved: the virtualenv's bin, not the base interpreter's
    if not (bin_dir / "dvc").exists():
        sys.exit(f"no dvc next to {sys.executable}: run this with the virtualenv's python (.venv/bin/python)")
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}

    tmp = Path(tempfile.mkdtemp(prefix="bench_repro_"))
    workdir, logs = tmp / "repo", tmp / "logs"
    logs.mkdir()
    started = finished = False
    load_before, probe_before = list(os.getloadavg()), speed_probe()
    try:
        commit = clone(args.repo.resolve(), args.ref, workdir, args.worktree)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir / "src"), os.environ.get("PYTHONPATH")]))
        if overrides:
            apply_overrides(workdir / "params.yaml", overrides)
        # the schema's one-line message now rather than a stage failing minutes in
        check_params = ("from latentspace.params import load_params\n"
                        "try: load_params('params.yaml')\nexcept ValueError as e: raise SystemExit(e)")
        checked = subprocess.run([sys.executable, "-c", check_params], check=False, cwd=workdir, env=env,
                                 capture_output=True, text=True)
        if checked.returncode:
            sys.exit(checked.stderr.strip().splitlines()[-1] if checked.stderr.strip() else "params check failed")
        cache = Path(run(["dvc", "cache", "dir"], workdir, env).stdout.strip()).resolve()
        if not cache.is_relative_to(workdir.resolve()):  # a global cache.dir: keep this run out of it
            run(["dvc", "cache", "dir", "--local", str(workdir / ".dvc" / "cache")], workdir, env)
        stages = stage_order(run(["dvc", "dag", "--dot"], workdir, env).stdout)
        dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"], args.repo).stdout.strip())
        print(f"clone of {commit[:10]}{' + worktree' if args.worktree else ''} in {workdir}; "
              f"{len(stages)} stages; overrides: {overrides or 'none (default params)'}", flush=True)

        started, start, cpu_start = True, time.perf_counter(), cpu_times()
        if args.mode == "stages":
            per_stage = run_stages(stages, workdir, env, logs)
            dvc_before_first_s, peak_all_mib = None, max(s["peak_rss_mib"] for s in per_stage.values())
        else:
            per_stage, dvc_before_first_s, peak_all_mib = run_once(stages, workdir, env, logs)
        total, cpu_run = time.perf_counter() - start, cpu_shares(cpu_start, cpu_times())
        log_text = "".join(p.read_text() for p in logs.glob("*.log"))

        lock = workdir / "dvc.lock"
        lock_before = file_digest(lock)
        noop_s, noop_out = timed_repeats(["dvc", "repro"], workdir, env, args.repeats)
        if lock_before is None or file_digest(lock) != lock_before:
            sys.exit("dvc.lock is missing or changed by a no-op `dvc repro`")
        bad = [o for o in noop_out if UP_TO_DATE not in o or "Running stage" in o]
        if bad:
            sys.exit(f"`dvc repro` with nothing changed did not say {UP_TO_DATE!r}:\n{bad[0][-3000:]}")
        status_s, status_out = timed_repeats(["dvc", "status"], workdir, env, args.repeats)
        if any(UP_TO_DATE not in o for o in status_out):
            sys.exit(f"`dvc status` after the run is not clean:\n{status_out[0][-3000:]}")
        # baselines: dvc's start-up alone, and start-up plus reading dvc.yaml and params
        version_s, _ = timed_repeats(["dvc", "--version"], workdir, env, args.repeats)
        stage_list_s, _ = timed_repeats(["dvc", "stage", "list"], workdir, env, args.repeats)
        finished = True
    finally:
        if args.keep or (started and not finished):  # a failed run keeps its clone and logs to look at
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    noop, status = statistics.median(noop_s), statistics.median(status_s)
    version, stage_list = statistics.median(version_s), statistics.median(stage_list_s)
    one_run = total - (len(stages) - 1) * stage_list if args.mode == "stages" else total
    for row in per_stage.values():
        row["share_of_total"] = round(row["seconds"] / total, 4)
        row["seconds"] = round(row["seconds"], 2)
        if "peak_rss_mib" in row:
            row["peak_rss_mib"] = round(row["peak_rss_mib"], 1)
    goals_apply = not overrides
    report = {
        "benchmark": "dvc repro from scratch and with nothing changed",
        "commit": commit, "worktree_changes_included": args.worktree, "workspace_has_uncommitted_changes": dirty,
        "mode": args.mode, "params_overrides": overrides, "goals_apply": goals_apply,
        "stages_in_order": stages,
        "per_stage": per_stage,
        "total_s": round(total, 2),
        "total_one_run_estimate_s": round(one_run, 2),
        "total_ratio_to_goal": round(one_run / GOAL_TOTAL_S, 3),
        "dvc_start_before_first_stage_s": None if dvc_before_first_s is None else round(dvc_before_first_s, 2),
        "peak_rss_mib_largest_process": round(peak_all_mib, 1),
        "cpu_shares_of_run": cpu_run,
        "cpu_shares_meaning": "shares of all cores' time during the run (per stage: during the stage) that the "
                              "machine was busy, idle, and lost to other guests of the VM's host (steal), "
                              "from /proc/stat; busy includes anything else running on the machine",
        "peak_rss_meaning": "wait4 ru_maxrss: the largest peak resident set of any single process of the "
                            "stage's (mode once: the run's) process tree, not a sum over processes",
        "evaluate_fid_skipped": "FID skipped" in log_text,
        "noop_repro_s": round(noop, 3), "noop_repro_runs_s": [round(s, 3) for s in noop_s],
        "noop_ratio_to_goal": round(noop / GOAL_NOOP_S, 3),
        "noop_ratio_to_dvc_stage_list": round(noop / stage_list, 2),
        "status_s": round(status, 3), "status_runs_s": [round(s, 3) for s in status_s],
        "status_ratio_to_dvc_stage_list": round(status / stage_list, 2),
        "baseline_dvc_version_s": round(version, 3),
        "baseline_dvc_stage_list_s": round(stage_list, 3),
        "goals": {"total_s": GOAL_TOTAL_S, "noop_s": GOAL_NOOP_S},
        "met": {"total": one_run <= GOAL_TOTAL_S, "noop": noop <= GOAL_NOOP_S} if goals_apply else None,
        "machine": {**machine_info(), "dvc": installed_version("dvc"),
                    "tensorflow": installed_version("tensorflow", "tensorflow-cpu"), "jax": installed_version("jax"),
                    "load_average_1_5_15_before": load_before, "load_average_1_5_15_after": list(os.getloadavg()),
                    "speed_probe_gflops_before": round(probe_before, 1)},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    for name, row in per_stage.items():
        cpu = row["cpu"] or {}
        print(f"  {name:11s} {row['seconds']:7.1f} s   cores busy {cpu.get('busy', float('nan')):5.0%}"
              f"   steal {cpu.get('steal', float('nan')):5.1%}")
    print(f"total {total:.1f} s" + (f" (one `dvc repro`: ~{one_run:.1f} s, dvc start-up "
                                     f"{stage_list:.2f} s x {len(stages) - 1} taken off)" if args.mode == "stages" else "")
          + f"; goal <= {GOAL_TOTAL_S:.0f} s: " + (("met" if one_run <= GOAL_TOTAL_S else "NOT met")
                                                  if goals_apply else "n/a (params overridden)"))
    if cpu_run:
        print(f"cores busy {cpu_run['busy']:.0%}, idle {cpu_run['idle']:.0%}, stolen by the VM's host "
              f"{cpu_run['steal']:.1%}; matmul probe {probe_before:.0f} GFLOP/s before the run, "
              f"{report['machine']['speed_probe_gflops']:.0f} after")
    print(f"no-op `dvc repro` {noop:.2f} s (median of {args.repeats}; `dvc stage list` {stage_list:.2f} s, "
          f"`dvc --version` {version:.2f} s); goal <= {GOAL_NOOP_S:.0f} s: "
          + ("met" if noop <= GOAL_NOOP_S else "NOT met") + (" (tiny params)" if not goals_apply else ""))
    print(f"`dvc status` {status:.2f} s; report {out}")


if __name__ == "__main__":
    main()
