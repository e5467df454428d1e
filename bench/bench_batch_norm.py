"""Training and inference throughput with TensorFlow's fused BatchNormalization against Keras' own.

The default autoencoder (params.yaml's model) is built twice in one process, once with
``latentspace.batch_norm.FusedBatchNormalization`` and once with ``keras.layers.BatchNormalization``
(the baseline), from the same seed. Both train through the train stage's input path
(``UInt8Batches`` from a memory-mapped uint8 array), one epoch each in turn, so a slow phase
of a shared machine hits both alike; the first epoch of each (tracing) is not timed. Then
the encoder and decoder of each run inference as the encode/decode stages do
(``predict_in_batches``). Prints and saves JSON.

    python bench/bench_batch_norm.py                       # 32 px, 6,400 images, ~2 minutes on 2 cores
    python bench/bench_batch_norm.py --size 64 --n 2048
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from common import (QUIET_STEAL, alternated_epoch_rates, default_architecture, machine_info, quiet_median,
                    write_noise_images)
from latentspace.batch_norm import FusedBatchNormalization
from latentspace.model import build_autoencoder
from latentspace.training import UInt8Batches, compile_autoencoder, predict_in_batches

VARIANTS = {"fused": FusedBatchNormalization, "keras": keras.layers.BatchNormalization}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--n", type=int, default=6400, help="training images per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per variant, alternated")
    parser.add_argument("--encode-batch-size", type=int, default=512)
    parser.add_argument("--out", default="bench/results/batch_norm.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "images.npy")
        write_noise_images(path, args.n, args.size, seed=0)
        images = np.load(path, mmap_mode="r", allow_pickle=False)
        cfg = default_architecture(args.size)
        models, fits = {}, {}
        for name, norm_cls in VARIANTS.items():
            keras.utils.set_random_seed(0)
            models[name] = model = build_autoencoder(cfg, norm_cls)
            compile_autoencoder(model, optimizer="adam", learning_rate=1e-3, loss="mse")
            batches = UInt8Batches(images, np.arange(args.n), args.batch_size, seed=0, threads=2)
            fits[name] = functools.partial(model.fit, batches, epochs=1, shuffle=False, verbose=0)
        train, steal = alternated_epoch_rates(fits, args.n, args.epochs)

        encode, decode = {}, {}
        for name, model in models.items():
            encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
            predict_in_batches(encoder, images[:args.encode_batch_size], args.encode_batch_size)  # trace
            start = time.perf_counter()
            z = predict_in_batches(encoder, images, args.encode_batch_size)
            encode[name] = args.n / (time.perf_counter() - start)
            predict_in_batches(decoder, z[:args.encode_batch_size], args.encode_batch_size)
            start = time.perf_counter()
            predict_in_batches(decoder, z, args.encode_batch_size)
            decode[name] = args.n / (time.perf_counter() - start)
            print(f"encode {name:6s} {encode[name]:8.1f} img/s   decode {decode[name]:8.1f} img/s", flush=True)

    median = {name: float(np.median(rates)) for name, rates in train.items()}
    report = {
        "benchmark": "fused BatchNormalization (TensorFlow's kernel) against keras.layers.BatchNormalization",
        "machine": machine_info(),
        "image_size": args.size, "n_images": args.n, "batch_size": args.batch_size,
        "baseline": "keras.layers.BatchNormalization, same model, seed and input path, epochs alternated",
        "train_images_per_s": {name: [round(r, 1) for r in rates] for name, rates in train.items()},
        "train_steal_share_per_epoch": steal,
        f"train_images_per_s_median_steal_below_{QUIET_STEAL}": {name: quiet_median(train[name], steal[name])
                                                                 for name in train},
        "train_images_per_s_median": {name: round(r, 1) for name, r in median.items()},
        "train_ratio_fused_to_keras": round(median["fused"] / median["keras"], 3),
        "encode_images_per_s": {name: round(r, 1) for name, r in encode.items()},
        "encode_ratio_fused_to_keras": round(encode["fused"] / encode["keras"], 3),
        "decode_images_per_s": {name: round(r, 1) for name, r in decode.items()},
        "decode_ratio_fused_to_keras": round(decode["fused"] / decode["keras"], 3),
    }
    print(f"train: fused {median['fused']:.1f} img/s, keras {median['keras']:.1f} img/s, "
          f"ratio {report['train_ratio_fused_to_keras']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
