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


def widest_vector_extension(flags: set[str]) -> str:
    """The widest SIMD instruction set among a CPU's ``flags`` (/proc/cpuinfo's names): "AVX-512",
    "AVX2", "AVX" or "SSE". TensorFlow picks its kernels by it, so it sets both their speed and
    their round-off: two machines of the same model name with different sets train different
    weights, several times apart in time."""
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")):
        if flag in flags:
            return name
    return "SSE"


def cpu_description() -> tuple[str, str | None]:
    """The CPU's model name and its widest vector extension (None where /proc/cpuinfo is missing)."""
    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)  # each CPU lists the same fields
    except OSError:
        return platform.processor(), None
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    return fields.get("model name", platform.processor()), widest_vector_extension(set(fields.get("flags", "").split()))


def machine_info() -> dict:
    """The "machine" block of every benchmark report: platform, CPU, library versions, BLAS threads."""
    cpu, vector_extension = cpu_description()
    blas = np.show_config(mode="dicts")["Build Dependencies"].get("blas", {})
    info = {
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cpu_vector_extension": vector_extension,
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
    info["speed_probe_gflops"] = round(speed_probe(), 1)  # when the report is written: how fast the machine was
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


def alternated_epoch_rates(fits: dict, n_images: int, repeats: int) -> tuple[dict, dict]:
    """Images/s of each case's training epochs, one epoch of each case in turn, ``repeats`` times.

    Taking turns means a slow phase of a shared machine hits every case alike. Each case is
    first fitted one untimed epoch (tracing, warm-up).

    Parameters
    ----------
    fits : dict of str to callable
        ``fits[name]()`` trains that case's model one epoch on ``n_images`` images.

    Returns
    -------
    rates : dict of str to list of float
        ``rates[name][r]``: images/s of case ``name``'s ``r``-th timed epoch.
    steal : dict of str to list of float or None
        The share of all cores' time the VM's host gave to other guests during that epoch
        (:func:`cpu_shares`; None off Linux): a slow epoch with a high share is a slow machine.
    """
    for fit in fits.values():
        fit()
    rates = {name: [] for name in fits}
    steal = {name: [] for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            cpu, start = cpu_times(), time.perf_counter()
            fit()
            rates[name].append(n_images / (time.perf_counter() - start))
            shares = cpu_shares(cpu, cpu_times())
            steal[name].append(shares and shares["steal"])
            print(f"train {name:28s} {rates[name][-1]:8.1f} img/s"
                  + (f"   steal {shares['steal']:5.1%}" if shares else ""), flush=True)
    return rates, steal


QUIET_STEAL = 0.02  # epochs with less of the cores' time stolen than this count as quiet


def quiet_median(rates: list[float], steal: list[float | None], max_steal: float = QUIET_STEAL) -> float | None:
    """Median of the ``rates`` whose epoch lost less than ``max_steal`` of the cores' time to
    steal (see :func:`alternated_epoch_rates`); None if no epoch was that quiet or steal is unknown."""
    quiet = [r for r, st in zip(rates, steal) if st is not None and st < max_steal]
    return float(np.median(quiet)) if quiet else None


def cpu_times() -> dict[str, int] | None:
    """The machine's cumulative CPU time by state, in clock ticks, from /proc/stat (Linux); else None.

    Differences of two readings give how busy all cores were in between, and how much time a
    virtual machine's hypervisor gave to other guests ("steal").
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    return {name: int(value) for name, value in zip(names, fields[1:])}


def cpu_shares(before: dict | None, after: dict | None) -> dict[str, float] | None:
    """Shares of all cores' time between two :func:`cpu_times` readings: busy (user, nice,
    system, irq, softirq), idle (idle, iowait) and steal; they sum to 1."""
    if before is None or after is None:
        return None
    d = {k: after[k] - before[k] for k in before}
    busy = d["user"] + d["nice"] + d["system"] + d["irq"] + d["softirq"]
    idle = d["idle"] + d["iowait"]
    total = busy + idle + d["steal"]
    if total <= 0:
        return None
    return {"busy": round(busy / total, 3), "idle": round(idle / total, 3), "steal": round(d["steal"] / total, 3)}


def speed_probe(n: int = 1024, seconds: float = 1.0) -> float:
    """float32 matrix-multiply GFLOP/s (NumPy's BLAS, its default threads), best of repeats for ``seconds``.

    Timed before and after a long benchmark, it shows whether the machine itself was slower during
    the run (a shared VM drifts), independently of the code measured.
    """
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b  # warm-up: BLAS threads start
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9
