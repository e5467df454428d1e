"""Throughput of the encode path against `encoder.predict` on an in-memory float32 array.

Same encoder, same process: (a) the project's path, `training.predict_in_batches` over --n
uint8 images memory-mapped from a temporary .npy (converted to float32 one batch at a time),
the way the encode stage runs it; (b) the baseline, `encoder.predict(x, batch_size=...)` on the
first --baseline-n images held in memory as float32 (4x the bytes of the uint8 set, hence the
subset). Both get a warm-up first. The goal is >= 1000 images/s on 2 CPU cores.

The encoder is untrained (seeded initial weights): its throughput does not depend on the
weights. The images are seeded uniform noise, written to the memory map in chunks (the default
set is 170000 x 64 x 64 x 3 = 2.1 GB) and read back with `np.load(mmap_mode="r")`.

Peak memory per phase: VmHWM (peak resident set, reset before each phase through
/proc/self/clear_refs) counts the memory map's file pages, which the kernel can drop at any
time; the peak of RssAnon (sampled every 10 ms) is the process's own memory. Prints and saves JSON.

Smoke run (seconds):

    python bench/bench_encode.py --n 4000

Full measurement (on a quiet machine; 2.1 GB of temporary disk):

    python bench/bench_encode.py           # -> bench/results/encode.json
"""

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import keras
import numpy as np

from common import cpu_shares, cpu_times, default_architecture, machine_info, write_noise_images
from latentspace.model import build_encoder
from latentspace.training import predict_in_batches

MIB = 2**20


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


class PeakMemory:
    """Peak VmHWM and sampled peak RssAnon (MiB) of this process inside a ``with`` block."""

    def __enter__(self):
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            pass
        self.anon_kib, self._stop = _status_kib("RssAnon"), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.anon_kib = max(self.anon_kib, _status_kib("RssAnon"))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.anon_kib = max(self.anon_kib, _status_kib("RssAnon"))
        self.peak = {"peak_rss_mib": round(_status_kib("VmHWM") / 1024, 1),
                     "peak_rss_anon_mib": round(self.anon_kib / 1024, 1)}


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--baseline-n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--goal", type=float, default=1000.0, help="images/s the encode path should reach")
    parser.add_argument("--tmp-dir", default=None, help="where the temporary .npy goes (default: the system's)")
    parser.add_argument("--out", default="bench/results/encode.json")
    args = parser.parse_args()
    baseline_n = min(args.baseline_n, args.n)

    cfg = default_architecture(args.size)
    keras.utils.set_random_seed(args.seed)
    encoder = build_encoder(cfg)

    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        path = Path(tmp, "images.npy")
        write_s, _ = timed(write_noise_images, path, args.n, args.size, args.seed)
        images = np.load(path, mmap_mode="r", allow_pickle=False)  # (n, S, S, 3) uint8
        print(f"wrote {args.n} images of {args.size}px ({images.nbytes / MIB:.0f} MiB) in {write_s:.1f} s", flush=True)

        predict_in_batches(encoder, images[: 2 * args.batch_size], args.batch_size)  # trace and warm up
        cpu = cpu_times()
        with PeakMemory() as memory:
            project_s, z = timed(predict_in_batches, encoder, images, args.batch_size)
        project = {"images_per_s": round(args.n / project_s, 1), "seconds_for_all": round(project_s, 2),
                   **memory.peak, "cpu": cpu_shares(cpu, cpu_times())}
        print(f"predict_in_batches on the uint8 memmap: {project['images_per_s']:8.1f} img/s, "
              f"{project_s:.1f} s for {args.n}", flush=True)

        with PeakMemory() as memory:
            x = images[:baseline_n].astype(np.float32) / 255.0  # (baseline_n, S, S, 3), not timed
            encoder.predict(x[: 2 * args.batch_size], batch_size=args.batch_size, verbose=0)  # warm up
            cpu = cpu_times()
            baseline_s, z_baseline = timed(encoder.predict, x, batch_size=args.batch_size, verbose=0)
            baseline_cpu = cpu_shares(cpu, cpu_times())
        baseline_rate = baseline_n / baseline_s
        baseline = {"images_per_s": round(baseline_rate, 1), "n_images": baseline_n,
                    "seconds_for_all_estimated": round(args.n / baseline_rate, 2), **memory.peak, "cpu": baseline_cpu}
        print(f"encoder.predict on float32 in memory:   {baseline['images_per_s']:8.1f} img/s "
              f"({baseline_n} images)", flush=True)
        max_abs_diff = float(np.abs(z[:baseline_n] - z_baseline).max())

    ratio = project["images_per_s"] / baseline["images_per_s"]
    report = {
        "benchmark": "encode path", "n_images": args.n, "image_size": args.size, "batch_size": args.batch_size,
        "encoder": "untrained, seeded (throughput does not depend on the weights)",
        "uint8_memmap_mib": round(args.n * args.size**2 * 3 / MIB, 1),
        "results": {
            "predict_in_batches_uint8_memmap": {**project, "ratio_to_baseline": round(ratio, 3)},
            "baseline_predict_float32_in_memory": {**baseline, "ratio_to_baseline": 1.0},
        },
        "goal_images_per_s": args.goal,
        "meets_goal": project["images_per_s"] >= args.goal,
        "max_abs_difference_to_baseline": max_abs_diff,
        "cpu_meaning": "shares of all cores' time busy, idle and stolen by the VM's host during each timed phase "
                       "(bench/common.py:cpu_shares): the two phases run one after the other, so steal skews the ratio",
        "machine": machine_info() | {"keras_backend": keras.backend.backend()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"ratio {ratio:.3f}; goal >= {args.goal:.0f} img/s: {'met' if report['meets_goal'] else 'NOT met'} "
          f"(on {report['machine']['cpu_count']} CPUs) -> {args.out}")


if __name__ == "__main__":
    main()
