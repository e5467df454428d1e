"""Training throughput of the project's input path against `fit` on an in-memory float32 array.

Same model, same images, same process: (a) float32 array held in memory (the baseline,
4x the memory of the uint8 set), (b) `UInt8Batches` from a memory-mapped uint8 array with
1 thread, (c) the same with 2 threads (the pipeline's default). After a warm-up epoch each,
the cases train one epoch each in turn, --repeats times. Prints and saves JSON.

    python bench/bench_train_input.py --images data/images.npy --n 6400
"""

import argparse
import functools
import json
from pathlib import Path

import keras
import numpy as np

from common import QUIET_STEAL, alternated_epoch_rates, default_architecture, machine_info, quiet_median
from latentspace.model import build_autoencoder
from latentspace.training import UInt8Batches, compile_autoencoder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="data/images.npy")
    parser.add_argument("--n", type=int, default=6400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/results/train_input.json")
    args = parser.parse_args()

    images = np.load(args.images, mmap_mode="r", allow_pickle=False)[: args.n]
    n, size = len(images), images.shape[1]
    cfg = default_architecture(size)
    x = np.asarray(images, dtype=np.float32) / 255.0
    cases = {
        "float32_array_in_memory": ((x, x), {"batch_size": args.batch_size}),
        "uint8_memmap_1_thread": ((UInt8Batches(images, np.arange(n), args.batch_size,
                                                seed=0, threads=1),), {}),
        "uint8_memmap_2_threads": ((UInt8Batches(images, np.arange(n), args.batch_size,
                                                 seed=0, threads=2),), {}),
    }
    fits = {}
    for name, (data, kwargs) in cases.items():
        keras.utils.set_random_seed(0)
        model = build_autoencoder(cfg)
        compile_autoencoder(model, optimizer="adam", learning_rate=1e-3, loss="mse")
        fits[name] = functools.partial(model.fit, *data, epochs=1, verbose=0, **kwargs)
    rates, steal = alternated_epoch_rates(fits, n, args.repeats)
    results = {}
    for name, r in rates.items():
        median = float(np.median(r))
        results[name] = {"images_per_s_median": round(median, 1), "images_per_s": [round(v, 1) for v in r],
                         "steal_share_per_epoch": steal[name],
                         f"images_per_s_median_steal_below_{QUIET_STEAL}": quiet_median(r, steal[name])}
        print(f"{name:28s} {median:8.1f} img/s", flush=True)
    base = results["float32_array_in_memory"]["images_per_s_median"]
    for r in results.values():
        r["ratio_to_float32_array"] = round(r["images_per_s_median"] / base, 3)
    report = {
        "benchmark": "train input path", "n_images": n, "image_size": size, "batch_size": args.batch_size,
        "input_memory_mib": {"float32_array": round(x.nbytes / 2**20, 1), "uint8_memmap": round(images.nbytes / 2**20, 1)},
        "backend": keras.backend.backend(), "results": results,
        "machine": machine_info(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v["ratio_to_float32_array"] for k, v in results.items()}))


if __name__ == "__main__":
    main()
