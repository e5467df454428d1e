"""Seconds and peak extra memory of the `correlate` and `stats` computations against `np.corrcoef`.

The latent vectors are a float32 .npy written to a temporary directory, with real
correlation structure (z = g @ mixing + offset: weak correlations everywhere, some strong
planted pairs, components off the origin, a few Student-t sources). In the same run:

(a) the baseline: ``np.corrcoef(z, rowvar=False)`` on the whole array loaded in memory;
(b) ``correlation.pearson`` on the memory-mapped file, as the `correlate` stage calls it;
(c) the `stats` stage's computations on the memory map: ``component_moments``,
    ``binned_counts`` + ``peak_and_halfwidth`` (bin width 0.25), ``vector_radii``.

Seconds are the median of ``--repeats`` runs (untraced); (b) and (c) open the memory map
inside the timed call, like a stage. Peak extra memory is the tracemalloc peak (NumPy
reports its buffers to it) of one more, traced run; the input never counts: (a)'s array
is loaded before tracing starts, and the memory map's pages are file cache, not
allocations. The file was just written, so its pages are in the page cache. (b) + (c) are
two stages, two processes: their seconds add up, their peaks do not.

The BLAS product dominates (a) and (b); on a busy machine its threads slow down many
times over: the report keeps the load average, and --blas-threads 1 pins both to one.

    python bench/bench_stats_correlate.py --n 170000 --dim 256
"""

import argparse
import contextlib
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from common import machine_info

from latentspace import correlation, stats

GOAL_SECONDS = 1.0
GOAL_EXTRA_MIB = 100.0
MIB = 2**20


def write_latents(path, n, dim, seed, chunk_rows=16384):
    """Correlated float32 latent vectors of shape (n, dim), written chunk by chunk into a .npy."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(dim) + rng.normal(0.0, 0.5 / np.sqrt(dim), (dim, dim))  # weak |r| everywhere
    for _ in range(dim // 16):  # strong pairs, either sign
        i, j = rng.choice(dim, 2, replace=False)
        mixing[:, j] += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5) * mixing[:, i]
    mixing *= rng.uniform(0.3, 3.0, dim)  # per-component scales
    offset = np.zeros(dim)
    off_origin = rng.choice(dim, dim // 8, replace=False)
    offset[off_origin] = rng.uniform(-3.0, 3.0, len(off_origin))
    heavy = rng.choice(dim, max(1, dim // 32), replace=False)
    z = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    for start in range(0, n, chunk_rows):
        g = rng.standard_normal((min(chunk_rows, n - start), dim))
        g[:, heavy] = rng.standard_t(4.0, (len(g), len(heavy))) / np.sqrt(2.0)  # unit variance
        z[start : start + len(g)] = g @ mixing + offset
    z.flush()
    del z


class Steps:
    """Seconds and, while tracemalloc traces, peak traced bytes (above the start) of named steps."""

    def __init__(self):
        self.traced = tracemalloc.is_tracing()
        self.base = tracemalloc.get_traced_memory()[0] if self.traced else 0
        self.seconds, self.peak_bytes = {}, {}

    @contextlib.contextmanager
    def __call__(self, name):
        if self.traced:
            tracemalloc.reset_peak()
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start
        if self.traced:
            self.peak_bytes[name] = tracemalloc.get_traced_memory()[1] - self.base


def measure(call, repeats):
    """Run ``call(steps)`` once traced (peak extra memory, and warm-up), then ``repeats`` times untraced."""
    tracemalloc.start()
    try:
        traced = Steps()
        result = call(traced)
    finally:
        tracemalloc.stop()
    totals, per_step = [], {name: [] for name in traced.seconds}
    for _ in range(repeats):
        steps = Steps()
        start = time.perf_counter()
        call(steps)
        totals.append(time.perf_counter() - start)
        for name, s in steps.seconds.items():
            per_step[name].append(s)
    row = {"seconds_median": float(np.median(totals)), "seconds": [round(s, 4) for s in totals],
           "peak_extra_mib": max(traced.peak_bytes.values()) / MIB}
    if len(per_step) > 1:
        row["steps"] = {name: {"seconds_median": float(np.median(s)), "peak_extra_mib": traced.peak_bytes[name] / MIB}
                        for name, s in per_step.items()}
    return row, result


def stats_stage(path, bin_width, steps):
    """The `stats` stage's computations on the memory-mapped vectors (stages/stats.py)."""
    z = np.load(path, mmap_mode="r", allow_pickle=False)
    with steps("component_moments"):
        mean, std = stats.component_moments(z)
    with steps("binned_counts + peak_and_halfwidth"):
        centres, counts = stats.binned_counts(z, bin_width)
        mu, hw = stats.peak_and_halfwidth(centres, counts, bin_width)
    with steps("vector_radii"):
        radii = stats.vector_radii(z)
    return mean, std, mu, hw, radii


def pearson_stage(path, steps):
    with steps("pearson"):
        return correlation.pearson(np.load(path, mmap_mode="r", allow_pickle=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bin-width", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blas-threads", type=int, default=None, help="default: the BLAS library's own")
    parser.add_argument("--out", default="bench/results/stats_correlate.json")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    blas_limit = contextlib.nullcontext()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        blas_limit = threadpool_limits(args.blas_threads, user_api="blas")
    with tempfile.TemporaryDirectory() as tmp, blas_limit:
        path = Path(tmp, "z.npy")
        write_latents(path, args.n, args.dim, args.seed)
        z_in_memory = np.load(path, allow_pickle=False)  # before tracing: the input is not extra memory
        input_mib = z_in_memory.nbytes / MIB

        def corrcoef(steps):
            with steps("np.corrcoef"):
                return np.corrcoef(z_in_memory, rowvar=False)

        a, r_ref = measure(corrcoef, args.repeats)
        print(f"(a) np.corrcoef, in memory     {a['seconds_median']:7.3f} s {a['peak_extra_mib']:8.1f} MiB", flush=True)
        z_in_memory = None  # free it before measuring the memory-mapped paths
        b, r = measure(lambda steps: pearson_stage(path, steps), args.repeats)
        print(f"(b) pearson, memory map        {b['seconds_median']:7.3f} s {b['peak_extra_mib']:8.1f} MiB", flush=True)
        c, _ = measure(lambda steps: stats_stage(path, args.bin_width, steps), args.repeats)
        print(f"(c) stats stage, memory map    {c['seconds_median']:7.3f} s {c['peak_extra_mib']:8.1f} MiB", flush=True)
        for name, step in c["steps"].items():
            print(f"      {name:36s} {step['seconds_median']:7.3f} s {step['peak_extra_mib']:8.1f} MiB")

    # separate stages, separate processes: seconds add up, the peak is the larger one
    b_plus_c = {"seconds_median": b["seconds_median"] + c["seconds_median"],
                "peak_extra_mib": max(b["peak_extra_mib"], c["peak_extra_mib"])}
    results = {"a_corrcoef_in_memory": a, "b_pearson_memmap": b, "c_stats_memmap": c, "b_plus_c": b_plus_c}
    for row in results.values():
        row["seconds_ratio_to_corrcoef"] = round(row["seconds_median"] / a["seconds_median"], 3)
        row["peak_extra_ratio_to_corrcoef"] = round(row["peak_extra_mib"] / a["peak_extra_mib"], 3)
        row["peak_extra_ratio_to_input"] = round(row["peak_extra_mib"] / input_mib, 3)
    goals = {name: {"seconds": bool(results[key]["seconds_median"] <= GOAL_SECONDS),
                    "peak_extra_memory": bool(results[key]["peak_extra_mib"] <= GOAL_EXTRA_MIB)}
             for name, key in (("b", "b_pearson_memmap"), ("b_plus_c", "b_plus_c"))}
    max_diff = float(np.abs(r - r_ref).max())
    upper = np.abs(r[np.triu_indices(args.dim, k=1)])

    report = {
        "benchmark": "stats + correlate on memory-mapped latent vectors vs np.corrcoef",
        "n_vectors": args.n, "latent_dim": args.dim, "repeats": args.repeats, "bin_width": args.bin_width,
        "input": {"dtype": "float32", "mib": round(input_mib, 1),
                  "held_as": "(a) loaded in memory; (b), (c) a memory-mapped .npy in the page cache"},
        "data_pairs_above": {f"{t:g}": int((upper > t).sum()) for t in (0.1, 0.3, 0.5)},
        "goals": {"seconds_at_most": GOAL_SECONDS, "peak_extra_mib_at_most": GOAL_EXTRA_MIB, "met": goals},
        "max_abs_difference_b_vs_a": max_diff,
        "b_plus_c_is": "seconds summed, peak the larger: two stages, two processes",
        "blas_threads": args.blas_threads or "library default",
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "results": results,
        "machine": machine_info(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"(b) / (a): {results['b_pearson_memmap']['seconds_ratio_to_corrcoef']} x time, "
          f"{results['b_pearson_memmap']['peak_extra_ratio_to_corrcoef']} x memory; "
          f"max |r_b - r_a| = {max_diff:.2e}; input {input_mib:.1f} MiB")
    print(f"(b) + (c): {b_plus_c['seconds_median']:.3f} s, {b_plus_c['peak_extra_mib']:.1f} MiB peak; goals met: {goals}")


if __name__ == "__main__":
    main()
