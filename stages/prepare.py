"""Stage `prepare`: centre-crop and resize every image into one uint8 array, in parallel.

Images that cannot be used are skipped (zero rows marked `skipped` in the index) and listed
with the reason in --skipped; more than `prepare.max_bad_fraction` of them fails the stage.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import celeba_format, images, sources
from latentspace.io import InputError, atomic_path, run_stage, save_csv, save_metrics
from latentspace.params import at_most, load_params
from latentspace.splits import split_labels

SHOW_BAD = 20  # skipped images named on stderr; all of them are in --skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw", required=True, type=Path)
    parser.add_argument("--images", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--skipped", required=True)
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    p = params["prepare"]

    source = sources.read_manifest(args.raw)
    # bounds checked before any decoding (also for the synthetic zip); the workers then reopen it unchecked
    with source.open(sources.ArchiveLimits(**params["data"]["archive"])) as reader:
        ids = reader.ids
    sources.check_unchanged(source, ids)
    columns, annotations = celeba_format.read_annotations(args.raw, ids)
    partition = annotations[:, columns.index("partition")] if "partition" in columns else None
    split = split_labels(len(ids), p["split"]["method"], p["split"]["train_size"], partition)

    n, size = len(ids), p["image_size"]
    workers = at_most("prepare.workers", p["workers"], os.cpu_count() or 1, "CPU cores")  # processes beyond: memory only
    start = time.perf_counter()
    # The three outputs are renamed into place together at the end: never a new array beside an old index.
    with atomic_path(args.images) as tmp, atomic_path(args.index) as tmp_index, \
            atomic_path(args.skipped) as tmp_skipped:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        with tqdm(total=n, desc="prepare", unit="img") as bar:
            bad = images.decode_faces(source, ids, out, crop=p["crop"], max_pixels=p["max_image_pixels"],
                                      reducing_gap=p["reducing_gap"], workers=workers, progress=bar.update)
        for row, reason in bad[:SHOW_BAD]:
            print(f"skipped {ids[row]}: {reason}", file=sys.stderr)
        if len(bad) > p["max_bad_fraction"] * n:
            row, reason = bad[0]
            raise InputError(f"{source.path}: {len(bad)} of {n} images cannot be used, more than "
                             f"prepare.max_bad_fraction ({p['max_bad_fraction']}); first: {ids[row]}: {reason}")
        out.flush()
        del out
        seconds = time.perf_counter() - start
        split[[row for row, _ in bad]] = "skipped"
        save_csv(tmp_skipped, ["image_id", "reason"], ((ids[row], reason) for row, reason in bad))
        save_csv(tmp_index, ["image_id", "split", *columns],
                 ([i, s, *a] for i, s, a in zip(ids, split, annotations)))
    # the timing goes to the log, not the metrics: tracked outputs hold only what the params decide
    print(f"prepare: {n} images in {seconds:.1f} s ({n / seconds:.0f} img/s)", flush=True)
    save_metrics(args.metrics, {
        "n_train": int((split == "train").sum()),
        "n_holdout": int((split == "holdout").sum()),
        "n_skipped": len(bad),
    })


if __name__ == "__main__":
    run_stage(main)
