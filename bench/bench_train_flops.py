"""Achieved FLOP rate of the autoencoder's training step against this machine's matrix-product rate.

Same process, same run: (a) the baselines: `keras.ops.matmul` of two float32 n x n matrices,
compiled in the active Keras backend (TensorFlow: `tf.function` as `fit` runs it on a CPU-only
machine, and with XLA; JAX: `jax.jit`), and numpy's float32 matmul, at 2 n^3 FLOPs per product,
median of --repeats after a warm-up; (b) `model.fit` of the default autoencoder on an in-memory
float32 array (one warm-up epoch, then the median of --repeats timed epochs), for every
--sizes x --batch-size, as images/s and as GFLOP/s = images/s x `flops.training_step_flops`
(3 x the forward FLOPs: backward ~ 2 x forward); (c) the encoder's forward pass alone
(`predict_on_batch`, batch by batch) at `flops.forward_flops` per image. Rates are given as
absolute GFLOP/s and as a ratio to the fastest keras matmul and to numpy's. Prints and saves JSON.

Smoke run (seconds):

    python bench/bench_train_flops.py --sizes 32 --batch-size 64 --n 256 --repeats 1 --matmul-sizes 512

Full measurement (on a quiet machine):

    python bench/bench_train_flops.py        # -> bench/results/train_flops.json
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from common import default_architecture, machine_info
from latentspace.flops import forward_flops, training_step_flops
from latentspace.model import build_autoencoder
from latentspace.training import compile_autoencoder


def median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def keras_matmul_variants() -> dict:
    """Compiled ``keras.ops.matmul`` of the active backend, by how it is compiled."""
    product = lambda a, b: keras.ops.matmul(a, b)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return {"tf_function": tf.function(product, jit_compile=False),
                "tf_function_xla": tf.function(product, jit_compile=True)}
    if backend == "jax":
        import jax

        return {"jax_jit": jax.jit(product)}
    return {"eager": product}


def matmul_rates(sizes, repeats: int, budget_s: float) -> dict:
    """GFLOP/s of every matmul variant at every n; an n whose predicted time exceeds the budget is skipped."""
    rng = np.random.default_rng(0)
    variants = {f"keras_{name}": fn for name, fn in keras_matmul_variants().items()}
    variants["numpy"] = np.matmul
    rates = {}
    for name, product in variants.items():
        rates[name] = {}
        gflops = None
        for n in sizes:
            flops = 2 * n**3
            predicted_s = (repeats + 2) * flops / (gflops * 1e9) if gflops else 0.0
            if predicted_s > budget_s:
                rates[name][str(n)] = None
                print(f"matmul {name:22s} n={n}: skipped (about {predicted_s:.0f} s > --matmul-budget-s)", flush=True)
                continue
            a, b = (rng.random((n, n), dtype=np.float32) for _ in range(2))
            if name != "numpy":
                a, b = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
            # Reading one element back waits for the product on an asynchronous device.
            run = lambda product=product, a=a, b=b: np.asarray(keras.ops.convert_to_numpy(product(a, b)[0, 0]))
            gflops = flops / median_seconds(run, repeats, warmup=2) / 1e9
            rates[name][str(n)] = round(gflops, 1)
            print(f"matmul {name:22s} n={n}: {gflops:8.1f} GFLOP/s", flush=True)
    return rates


def fit_images_per_s(model, x, batch_size: int, repeats: int) -> float:
    seconds = median_seconds(lambda: model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0), repeats)
    return len(x) / seconds


def predict_images_per_s(model, x, batch_size: int, repeats: int) -> float:
    def run():
        for start in range(0, len(x), batch_size):
            np.asarray(model.predict_on_batch(x[start : start + batch_size]))

    return len(x) / median_seconds(run, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--n", type=int, default=4096, help="images per timed epoch (rounded down to whole batches)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--matmul-budget-s", type=float, default=30.0,
                        help="skip a matmul size predicted to take longer than this")
    parser.add_argument("--out", default="bench/results/train_flops.json")
    args = parser.parse_args()

    matmul = matmul_rates(args.matmul_sizes, args.repeats, args.matmul_budget_s)
    keras_best = max((r, f"{name} n={n}") for name, by_n in matmul.items() if name.startswith("keras")
                     for n, r in by_n.items() if r is not None)
    numpy_best = max(r for r in matmul["numpy"].values() if r is not None)

    def rate(images_per_s, flops_per_image):
        gflops = images_per_s * flops_per_image / 1e9
        return {"images_per_s": round(images_per_s, 1), "gflops_per_s": round(gflops, 2),
                "ratio_to_keras_matmul": round(gflops / keras_best[0], 4),
                "ratio_to_numpy_matmul": round(gflops / numpy_best, 4)}

    rng = np.random.default_rng(0)
    results = {}
    for size in args.sizes:
        cfg = default_architecture(size)
        row = {}
        for batch_size in args.batch_size:
            n = max(batch_size, args.n // batch_size * batch_size)
            x = rng.random((n, size, size, 3), dtype=np.float32)
            keras.utils.set_random_seed(0)
            model = build_autoencoder(cfg)
            compile_autoencoder(model, optimizer="adam", learning_rate=1e-3, loss="mse")
            train = rate(fit_images_per_s(model, x, batch_size, args.repeats), training_step_flops(model))
            encoder = model.get_layer("encoder")
            encode = rate(predict_images_per_s(encoder, x, batch_size, args.repeats), forward_flops(encoder))
            row[f"batch_{batch_size}"] = {"n_images": n, "fit_jit_compile": bool(model.jit_compile),
                                          "train_step": train, "encoder_forward": encode}
            print(f"{size}px batch {batch_size:4d}: train {train['images_per_s']:7.1f} img/s "
                  f"{train['gflops_per_s']:6.1f} GFLOP/s ({train['ratio_to_keras_matmul']:.1%} of matmul); "
                  f"encoder forward {encode['images_per_s']:7.1f} img/s {encode['gflops_per_s']:6.1f} GFLOP/s "
                  f"({encode['ratio_to_keras_matmul']:.1%})", flush=True)
        results[f"{size}px"] = {
            "forward_flops_per_image": forward_flops(model),
            "training_step_flops_per_image": training_step_flops(model),
            "encoder_forward_flops_per_image": forward_flops(model.get_layer("encoder")),
            **row,
        }

    report = {
        "benchmark": "training FLOP rate against matmul", "repeats": args.repeats,
        "flops_convention": "multiply-add = 2 FLOPs; training step = 3 x forward (latentspace.flops)",
        "matmul_gflops_per_s": matmul,
        "baseline": {"keras_matmul_best_gflops_per_s": keras_best[0], "keras_matmul_best": keras_best[1],
                     "numpy_matmul_best_gflops_per_s": numpy_best},
        "results": results,
        "machine": machine_info() | {"keras_backend": keras.backend.backend()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"baseline: keras matmul {keras_best[0]} GFLOP/s ({keras_best[1]}), numpy {numpy_best} GFLOP/s -> {args.out}")


if __name__ == "__main__":
    main()
