"""Train and encode at CelebA's scale (170,000 64x64 images), for each precision: the GPU goals.

Same process, same run, for every --precisions entry (a `train.precision` value):

(a) train: `training.train_autoencoder`, the train stage's own path (uint8 batches from a
    memory map, --loader-threads, --steps-per-execution, inside
    `distribution.distributed(--distribution)`), 2 epochs over --n images. The rate is the
    second epoch's training part (epoch start to the start of its validation): the first
    epoch pays for tracing and compilation. Baseline: `model.fit` of a model built and
    compiled the same way on the first --baseline-n images held in memory as float32
    (4x the bytes of uint8, hence the subset), one warm-up epoch, then one timed.
(b) encode: `training.predict_in_batches` over the memory map, the encode stage's path,
    against `encoder.predict` on the float32 subset; both after a warm-up.

Goals on one H100 (issue 6): train >= 20,000 img/s (an epoch of 170,000 in <= 10 s) and
encode >= 50,000 img/s at 64x64. The images are seeded uniform noise (throughput does not
depend on what they show); the models are the default architecture at --size.

On a GPU machine (JAX; add mixed_float16 where the GPU has fast float16):

    KERAS_BACKEND=jax python bench/bench_scale.py --precisions float32 mixed_bfloat16 \\
        --batch-size 1024 --loader-threads 8 --steps-per-execution 16 --encode-batch-size 4096

Smoke run on a CPU (seconds):

    python bench/bench_scale.py --n 2048 --size 32 --baseline-n 1024 --batch-size 256
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from common import default_architecture, machine_info, write_noise_images
from latentspace.distribution import distributed, local_devices, set_precision
from latentspace.model import build_autoencoder
from latentspace.training import compile_autoencoder, predict_in_batches, to_model_input, train_autoencoder

GOALS = {"train_images_per_s": 20_000, "encode_images_per_s": 50_000}  # one H100, 64x64


class EpochTimes(keras.callbacks.Callback):
    """Seconds of each epoch's training part: from its start to the end of its last step."""

    def __init__(self):
        super().__init__()
        self.seconds, self._start = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        if self._start is not None:  # the first validation of this epoch
            # Reading the step counter waits for the last step: JAX (and GPUs) run asynchronously.
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None


def train_rates(images, args) -> dict:
    """Images/s of the project's training path (2nd epoch) and of `fit` on a float32 array."""
    n_val = min(args.batch_size, len(images) // 10)
    train_idx, val_idx = np.arange(len(images) - n_val), np.arange(len(images) - n_val, len(images))
    timer = EpochTimes()
    with distributed(args.distribution) as replicas:
        train_autoencoder(default_architecture(images.shape[1]), images, train_idx, val_idx, seed=0, epochs=2,
                          batch_size=args.batch_size, optimizer="adam", learning_rate=1e-3, loss="mse",
                          loader_threads=args.loader_threads, steps_per_execution=args.steps_per_execution,
                          callbacks=[timer])
        x = to_model_input(images[: args.baseline_n])
        keras.utils.set_random_seed(0)
        model = build_autoencoder(default_architecture(images.shape[1]))
        compile_autoencoder(model, optimizer="adam", learning_rate=1e-3, loss="mse",
                            steps_per_execution=args.steps_per_execution)
        model.fit(x, x, batch_size=args.batch_size, epochs=1, verbose=0)  # trace and compile
        start = time.perf_counter()
        model.fit(x, x, batch_size=args.batch_size, epochs=1, verbose=0)
        baseline_s = time.perf_counter() - start
    ours = len(train_idx) / timer.seconds[1]
    baseline = len(x) / baseline_s
    return {"replicas": replicas, "epoch_seconds": [round(s, 2) for s in timer.seconds],
            "images_per_s": round(ours, 1), "epoch_of_170000_s": round(170_000 / ours, 1),
            "baseline_fit_on_float32_array_images_per_s": round(baseline, 1), "ratio_to_baseline": round(ours / baseline, 3)}


def encode_rates(images, args) -> dict:
    """Images/s of `predict_in_batches` over the memory map and of `predict` on a float32 array."""
    keras.utils.set_random_seed(0)
    encoder = build_autoencoder(default_architecture(images.shape[1])).get_layer("encoder")
    x = to_model_input(images[: args.baseline_n])
    bs = args.encode_batch_size
    predict_in_batches(encoder, images, bs, rows=np.arange(min(len(images), 2 * bs)))  # trace both batch shapes
    start = time.perf_counter()
    predict_in_batches(encoder, images, bs)
    ours = len(images) / (time.perf_counter() - start)
    encoder.predict(x, batch_size=bs, verbose=0)
    start = time.perf_counter()
    encoder.predict(x, batch_size=bs, verbose=0)
    baseline = len(x) / (time.perf_counter() - start)
    return {"images_per_s": round(ours, 1), "baseline_predict_on_float32_array_images_per_s": round(baseline, 1),
            "ratio_to_baseline": round(ours / baseline, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--baseline-n", type=int, default=20_000)
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--encode-batch-size", type=int, default=2048)
    parser.add_argument("--loader-threads", type=int, default=2)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--distribution", choices=["none", "data_parallel"], default="none")
    parser.add_argument("--tmp-dir", default=None, help="where the temporary .npy goes (default: the system's)")
    parser.add_argument("--out", default="bench/results/scale.json")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        path = Path(tmp, "images.npy")
        write_noise_images(path, args.n, args.size, seed=0)
        images = np.load(path, mmap_mode="r", allow_pickle=False)
        for precision in args.precisions:
            set_precision(precision)
            results[precision] = {"train": train_rates(images, args), "encode": encode_rates(images, args)}
            print(f"{precision}: {json.dumps(results[precision])}", flush=True)
        set_precision("float32")
        del images

    at_goal_scale = args.size == 64 and args.n >= 170_000
    report = {
        "benchmark": "train and encode at CelebA scale", "n_images": args.n, "image_size": args.size,
        "baseline_n": args.baseline_n, "batch_size": args.batch_size, "encode_batch_size": args.encode_batch_size,
        "loader_threads": args.loader_threads, "steps_per_execution": args.steps_per_execution,
        "distribution": args.distribution, "backend": keras.backend.backend(), "devices": local_devices(),
        "results": results,
        "goals_one_h100": GOALS,
        "goals_apply": at_goal_scale,  # and only on one H100: see "devices"
        "machine": machine_info(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
