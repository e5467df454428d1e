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
