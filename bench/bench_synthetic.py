"""Throughput of the synthetic CelebA-format writer, against its JPEG + zip floor.

Times ``write_celeba_format`` end to end (sampling, rendering, JPEG encoding,
zip and text files) with 1 and 2 workers, and, as the floor in the same run,
only JPEG-encoding and zipping the same number of already rendered images in
one process.  Each configuration runs ``--repeats`` times; the best and median
rates are kept, since timings on shared machines drift by tens of percent.

    PYTHONPATH=src python bench/bench_synthetic.py [--n 4000] [--repeats 3]

Prints a summary and writes ``bench/results/synthetic.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
import PIL
from PIL import Image

from common import machine_info
from latentspace import synthetic

RESULTS = Path(__file__).resolve().parent / "results" / "synthetic.json"


def time_writer(n: int, workers: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthetic.write_celeba_format(tmp, n, seed=seed, workers=workers, progress=False)
        return time.perf_counter() - t0


def time_floor(images: list[np.ndarray], n: int) -> float:
    """JPEG-encode and zip ``n`` images, cycling through ``images``, in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with zipfile.ZipFile(Path(tmp) / "floor.zip", "w", compression=zipfile.ZIP_STORED) as zf:
            for i in range(n):
                buf = io.BytesIO()
                Image.fromarray(images[i % len(images)]).save(buf, format="JPEG", quality=90)
                zf.writestr(f"img_align_celeba/{i + 1:06d}.jpg", buf.getvalue())
        return time.perf_counter() - t0


def summarise(n: int, seconds: list[float]) -> dict:
    rates = [n / s for s in seconds]
    return {
        "images_per_s_best": round(max(rates), 1),
        "images_per_s_median": round(statistics.median(rates), 1),
        "seconds": [round(s, 3) for s in seconds],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="images per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    # warm-up: imports, first-use caches
    time_writer(200, 1, args.seed)
    factors = synthetic.sample_factors(np.random.default_rng(args.seed), 200)
    images = [synthetic.render_face({k: v[i] for k, v in factors.items()}, seed=args.seed, index=i) for i in range(200)]

    runs = {"workers_1": [], "workers_2": [], "floor_jpeg_zip_1_process": []}
    for _ in range(args.repeats):  # interleaved, so drift hits all configurations alike
        runs["workers_1"].append(time_writer(args.n, 1, args.seed))
        runs["workers_2"].append(time_writer(args.n, 2, args.seed))
        runs["floor_jpeg_zip_1_process"].append(time_floor(images, args.n))
    results = {name: summarise(args.n, s) for name, s in runs.items()}

    def ratio(a: str, b: str) -> float:
        return round(results[a]["images_per_s_median"] / results[b]["images_per_s_median"], 3)

    report = {
        "benchmark": "latentspace.synthetic.write_celeba_format",
        "n_images": args.n,
        "repeats": args.repeats,
        "results": results,
        "ratios_of_medians": {
            "workers_2_over_workers_1": ratio("workers_2", "workers_1"),
            "workers_1_over_floor": ratio("workers_1", "floor_jpeg_zip_1_process"),
            "workers_2_over_floor": ratio("workers_2", "floor_jpeg_zip_1_process"),
        },
        "machine": {**machine_info(), "matplotlib": matplotlib.__version__, "pillow": PIL.__version__},
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    for name, r in results.items():
        print(f"{name:28s} {r['images_per_s_median']:8.1f} img/s median   {r['images_per_s_best']:8.1f} best")
    for name, r in report["ratios_of_medians"].items():
        print(f"{name:28s} {r:8.3f}")
    print(f"machine: {report['machine']['cpu_model']}, {os.cpu_count()} CPUs -> {args.out}")
    return report


if __name__ == "__main__":
    main()
