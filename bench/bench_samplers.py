"""Fit, draw and density-scoring time of every sampler at CelebA's size, beside the 10-component mixture's.

Each sampler of params.yaml's ``sample`` section (its first listed value, its default options) is
fitted to N correlated Gaussian vectors of the latent size, draws ``sample.n`` vectors, and, where it
has a density, scores ``--scored`` held-out vectors and as many of the vectors it was fitted to
(the sample stage scores all of them: scale by the counts). The baseline is the mixture with k = 10
(the RAE paper's), timed in the same run; every figure is also given as a ratio to it.

    python bench/bench_samplers.py                       # 170,000 x 256, about five minutes on 2 cores
    python bench/bench_samplers.py --n 20000 --out /tmp/samplers.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import machine_info
from latentspace import samplers
from latentspace.geometry import principal_axes
from latentspace.params import load_params

REPO = Path(__file__).resolve().parents[1]


def correlated_cloud(n: int, dim: int, seed: int) -> samplers.LatentCloud:
    """N(0, Sigma) vectors with a random covariance of decaying spectrum (like a latent cloud's), float32."""
    rng = np.random.default_rng(seed)
    axes = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    sd = np.sqrt(np.geomspace(4.0, 0.01, dim))
    z = np.empty((n, dim), np.float32)
    for start in range(0, n, 16384):  # in chunks: no float64 copy of the whole cloud
        rows = min(16384, n - start)
        z[start:start + rows] = (rng.standard_normal((rows, dim)) * sd) @ axes.T
    mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
    return samplers.LatentCloud(z, mean, std, mean, std, principal_axes(z))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench(setting: samplers.Sampler, cloud: samplers.LatentCloud, held_out: np.ndarray, n_draw: int) -> dict:
    rng = np.random.default_rng(0)
    _, fit = timed(lambda: setting.fit(cloud, rng))
    _, draw = timed(lambda: setting.draw(rng, n_draw))
    row = {"setting": repr(setting), "fit_s": round(fit, 3), "draw_s": round(draw, 3)}
    fitted = np.asarray(cloud.z[setting.fitted_rows(len(cloud.z))[: len(held_out)]])
    scored, seconds = timed(lambda: setting.log_likelihood(fitted))
    if scored is not None:
        _, held = timed(lambda: setting.log_likelihood(held_out))
        row["log_likelihood_s"] = round(seconds + held, 3)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170_000, help="training vectors (CelebA's series: 170,000)")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--scored", type=int, default=2000, help="held-out and fitted vectors scored as a density")
    parser.add_argument("--out", default=str(REPO / "bench/results/samplers.json"))
    args = parser.parse_args()

    p = load_params(REPO / "params.yaml")["sample"]
    cloud, seconds = timed(lambda: correlated_cloud(args.n, args.dim, seed=0))
    print(f"cloud of {args.n} x {args.dim} in {seconds:.1f} s", flush=True)
    held_out = correlated_cloud(args.scored, args.dim, seed=1).z
    baseline = bench(samplers.GaussianMixture(10, **{k: v for k, v in p["mixture"].items() if k != "k"}), cloud,
                     held_out, p["n"])
    print(f"baseline {baseline}", flush=True)
    rows = []
    for kind, cls in samplers.SAMPLERS.items():
        section = p[kind]
        values = section[cls.param]
        if not values:
            continue
        setting = cls(values[0], **{k: v for k, v in section.items() if k != cls.param})
        row = dict(baseline) if repr(setting) == baseline["setting"] else bench(setting, cloud, held_out, p["n"])
        for key in ("fit_s", "draw_s", "log_likelihood_s"):
            if key in row and baseline.get(key):
                row[key.replace("_s", "_ratio_to_mixture")] = round(row[key] / baseline[key], 4)
        rows.append({"sampler": kind, **row})
        print(rows[-1], flush=True)
    report = {"benchmark": "samplers", "n": args.n, "dim": args.dim, "n_draw": p["n"], "scored": args.scored,
              "baseline": {"sampler": "mixture k=10", **baseline}, "results": rows, "machine": machine_info()}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
