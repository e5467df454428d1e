"""Running a stage script as `dvc repro` would, on tiny inputs: the repository's params.yaml
with one section shrunk, a tiny untrained autoencoder, and a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_params(path: Path, section: str, **changes) -> dict:
    """The repository's params with ``section`` updated by ``changes``, written to ``path``."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params[section].update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def run_stage(stage: str, args, *, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python stages/<stage>.py <args>`` with the repository's sources, TensorFlow's logs off
    and LATENTSPACE_DEBUG unset (so errors are the one-line kind)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("LATENTSPACE_DEBUG", None)
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py"), *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True)


def save_tiny_autoencoder(path: Path, latent_dim: int) -> Path:
    """An untrained 16x16 autoencoder with ``latent_dim`` components, saved as the train stage does."""
    from latentspace.model import ArchitectureConfig, build_autoencoder

    build_autoencoder(ArchitectureConfig(16, latent_dim, (4, 8), (3, 3), (2, 2), True, "relu")).save(path)
    return path


def start_stage(stage: str, args, *, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """``python stages/<stage>.py <args>`` started in the background like :func:`run_stage`,
    with stdout and stderr going to the file ``log`` (a pipe nobody reads would stall it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("LATENTSPACE_DEBUG", None)
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, str(REPO / "stages" / f"{stage}.py"), *map(str, args)],
                                cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def kill_when(proc: subprocess.Popen, ready, *, log: Path, timeout: float = 120.0) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` is true; fail if it ends or times out first."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the stage ended (exit {proc.returncode}) before the moment to kill it:\n"
                                 + log.read_text()[-3000:])
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for the moment to kill the stage:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
