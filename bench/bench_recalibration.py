"""Held-out PSNR and cost of BatchNorm's recalibration ("precise BN") against the subset size.

Loads a trained model, recalibrates its BatchNorm statistics on seeded subsets of the training
images (``training.recalibrate_batch_norm``, as ``train.bn_recalibration_images`` does) and
scores the first ``train.validation_images`` held-out images; the baseline is the same model
without recalibration, in the same run. Run it on a model trained without recalibration
(``dvc exp run -S train.bn_recalibration_images=0``, or a copy of such a model). Prints and saves JSON.

    python bench/bench_recalibration.py --model models/autoencoder.keras
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import machine_info
from latentspace.io import load_npy
from latentspace.model import load_autoencoder
from latentspace.splits import split_indices
from latentspace.training import mean_image, predict_in_batches, psnr, recalibrate_batch_norm, to_model_input


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", default="data/images.npy")
    parser.add_argument("--index", default="data/index.csv")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 10200])
    parser.add_argument("--validation-images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="bench/results/recalibration.json")
    args = parser.parse_args()

    images = load_npy(args.images, mmap=True, ndim=4)
    train_rows, held_rows = split_indices(args.index, len(images))
    held = to_model_input(images[held_rows[: args.validation_images]])
    rows = {"mean_image_psnr_db": psnr(held, np.broadcast_to(mean_image(images, train_rows), held.shape))}
    results = []
    for n in [0, *args.sizes]:
        model = load_autoencoder(args.model)
        start = time.perf_counter()
        if n:
            subset = np.sort(np.random.default_rng(0).choice(train_rows, size=min(n, len(train_rows)), replace=False))
            recalibrate_batch_norm(model, images, subset, args.batch_size)
        seconds = time.perf_counter() - start
        score = psnr(held, predict_in_batches(model, images, args.batch_size, rows=held_rows[: args.validation_images]))
        results.append({"images": n, "seconds": round(seconds, 2), "psnr_holdout_db": round(score, 3)})
        print(f"recalibrated on {n:6d} images: {score:.2f} dB in {seconds:.1f} s", flush=True)
    report = {"benchmark": "bn_recalibration", "model": args.model, **rows, "results": results,
              "gain_db_over_none": {r["images"]: round(r["psnr_holdout_db"] - results[0]["psnr_holdout_db"], 3)
                                    for r in results[1:]},
              "machine": machine_info()}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
