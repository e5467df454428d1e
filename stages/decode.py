"""Stage `decode`: decode every sampler setting's vectors into an image grid."""

import argparse
import json
from pathlib import Path

import numpy as np

from latentspace import grids, plots
from latentspace.io import atomic_path, require_file, run_stage, save_figure, save_png
from latentspace.model import load_part
from latentspace.params import load_params
from latentspace.training import predict_in_batches


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--samples", required=True, type=Path)
    parser.add_argument("--out", required=True, help="directory of PNG grids to create")
    parser.add_argument("--overview", required=True, help="PNG with every setting side by side")
    args = parser.parse_args()
    p = load_params(args.params)["decode"]

    decoder = load_part(args.model, "decoder")
    manifest = json.loads(require_file(args.samples / "manifest.json", "the sample stage").read_text())

    rows = {}  # sampler -> [(grid, label)] in manifest order (increasing value)
    with atomic_path(args.out, directory=True) as tmp:
        for entry in manifest:
            z = np.load(args.samples / entry["file"])
            images = predict_in_batches(decoder, z, p["batch_size"])  # (n, S, S, 3) in [0, 1]
            panel = grids.tile(grids.to_uint8(images), p["columns"], scale=grids.display_scale(images.shape[1], 64))
            save_png(tmp / entry["file"].replace(".npy", ".png"), panel)
            rows.setdefault(entry["sampler"], []).append((panel, entry["label"]))
    save_figure(args.overview, plots.labelled_panels(list(rows.values())))


if __name__ == "__main__":
    run_stage(main)
