"""Helpers shared by the benchmark scripts in bench/ (run as ``python bench/bench_*.py``)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def keras_backend_name() -> str:
    """The backend Keras would pick, without importing Keras (which would import TensorFlow)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def machine_info() -> dict:
    """The "machine" block of every benchmark report: platform, CPU, library versions, BLAS threads."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"].get("blas", {})
    info = {
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": _version("keras"),
        "keras_backend": keras_backend_name(),
        "blas": f"{blas.get('name')} {blas.get('version')}",
    }
    try:  # BLAS threads decide matrix-product timings
        from threadpoolctl import threadpool_info

        info["blas_threads_default"] = sum(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
    except ImportError:
        pass
    return info


def write_noise_images(path, n: int, size: int, seed: int, chunk: int = 8192) -> None:
    """Seeded uniform uint8 images of shape (n, size, size, 3) in a .npy file, ``chunk`` rows at a time.

    Throughput does not depend on what the pixels show, and this writes 170,000 64x64 images
    (2.1 GB) in seconds where rendering faces would take minutes.
    """
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    for start in range(0, n, chunk):
        out[start : start + chunk] = rng.integers(0, 256, (min(chunk, n - start), size, size, 3), dtype=np.uint8)
    out.flush()
    del out


def default_architecture(size: int):
    """The model of params.yaml (the repository's defaults) at ``size`` px: what the benches time.

    Returns
    -------
    cfg : latentspace.model.ArchitectureConfig
    """
    from latentspace.model import ArchitectureConfig  # imports Keras: only the benches that build a model
    from latentspace.params import load_params

    m = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["model"]
    return ArchitectureConfig(size, m["latent_dim"], tuple(m["filters"]), tuple(m["kernel_sizes"]), tuple(m["strides"]),
                              m["batch_norm"], m["activation"], m["dropout"])


def alternated_epoch_rates(fits: dict, n_images: int, repeats: int) -> dict[str, list[float]]:
    """Images/s of each case's training epochs, one epoch of each case in turn, ``repeats`` times.

    Taking turns means a slow phase of a shared machine hits every case alike. Each case is
    first fitted one untimed epoch (tracing, warm-up).

    Parameters
    ----------
    fits : dict of str to callable
        ``fits[name]()`` trains that case's model one epoch on ``n_images`` images.
    """
    for fit in fits.values():
        fit()
    rates = {name: [] for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            rates[name].append(n_images / (time.perf_counter() - start))
            print(f"train {name:28s} {rates[name][-1]:8.1f} img/s", flush=True)
    return rates
