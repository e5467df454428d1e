"""Throughput of `prepare`'s decoding against a plain single-process Pillow loop.

Both read the same zip of CelebA-shaped JPEGs (178x218; DEFLATE-compressed like the real
`img_align_celeba.zip`) in the same run: (a) the baseline: open, convert to RGB, crop the
centre, LANCZOS-resize, one image after another; (b) `images.decode_faces` for each
`prepare.reducing_gap` (JPEG draft mode), 1 process; (c) the same with N processes; with each
one's distance to the baseline's pixels (PSNR, mean absolute difference). Prints and saves JSON.

    python bench/bench_prepare.py --n 4000 --workers 2
"""

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from common import machine_info
from latentspace import images, synthetic
from latentspace.sources import ImageSource


def baseline(zip_path, crop, size):
    """The plain loop: full-resolution decode, crop, resize."""
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        out = np.empty((len(names), size, size, 3), np.uint8)
        for k, name in enumerate(names):
            img = Image.open(io.BytesIO(archive.read(name))).convert("RGB")
            left, top = (img.width - crop) // 2, (img.height - crop) // 2
            img = img.crop((left, top, left + crop, top + crop)).resize((size, size), Image.Resampling.LANCZOS)
            out[k] = np.asarray(img)
    return out


def timed(fn, repeats):
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--crop", type=int, default=140)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reducing-gaps", type=float, nargs="+", default=[2.0, 1.0],
                        help="prepare.reducing_gap values to time (2: the default)")
    parser.add_argument("--out", default="bench/results/prepare.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        synthetic.write_celeba_format(tmp, args.n, seed=0, workers=args.workers, progress=False)
        stored, deflated = Path(tmp, "img_align_celeba.zip"), Path(tmp, "deflated.zip")
        with zipfile.ZipFile(stored) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
        source = ImageSource("zip", str(deflated))
        with source.open() as reader:
            ids = reader.ids

        results = {}
        for size in args.sizes:
            base_s, ref = timed(lambda: baseline(deflated, args.crop, size), args.repeats)
            row = {"baseline_pillow_1_process": round(args.n / base_s, 1)}
            for gap in args.reducing_gaps:
                label = f"reducing_gap_{gap:g}"
                for workers in sorted({1, args.workers}):
                    out = np.empty((args.n, size, size, 3), np.uint8)
                    run = lambda: images.decode_faces(source, ids, out, crop=args.crop, max_pixels=25_000_000,
                                                      reducing_gap=gap, workers=workers)
                    s, bad = timed(run, args.repeats)
                    assert not bad
                    row[f"{label}_{workers}_process"] = round(args.n / s, 1)
                    row[f"{label}_ratio_{workers}_process"] = round(base_s / s, 2)
                error = out.astype(float) - ref
                row[f"{label}_mean_abs_difference_to_baseline"] = round(float(np.abs(error).mean()), 3)
                row[f"{label}_psnr_to_baseline_db"] = round(float(10 * np.log10(255.0**2 / np.mean(error**2))), 2)
            results[f"{size}px"] = row
            print(f"{size}px: {row}", flush=True)

    report = {
        "benchmark": "prepare decoding", "n_images": args.n, "crop": args.crop, "repeats": args.repeats,
        "images_per_s_median": results,
        "machine": machine_info(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
