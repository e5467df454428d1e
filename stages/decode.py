"""Stage `decode`: decode every sampler setting's vectors into an image grid."""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from latentspace import grids, plots
from latentspace.io import InputError, atomic_path, run_stage, save_figure, save_png
from latentspace.params import load_params


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--samples", required=True, type=Path)
    parser.add_argument("--out", required=True, help="directory of PNG grids to create")
    parser.add_argument("--overview", required=True, help="PNG with every setting side by side")
    args = parser.parse_args()
    p = load_params(args.params)["decode"]

    if not args.model.is_file():
        raise InputError(f"{args.model}: missing; run the train stage first")
    decoder = keras.saving.load_model(args.model).get_layer("decoder")
    manifest = json.loads((args.samples / "manifest.json").read_text())

    rows = {}  # sampler -> [(grid, label)] in manifest order (increasing value)
    with atomic_path(args.out, directory=True) as tmp:
        for entry in manifest:
            z = np.load(args.samples / entry["file"])
            images = np.concatenate([np.asarray(decoder.predict_on_batch(z[s : s + p["batch_size"]]))
                                     for s in range(0, len(z), p["batch_size"])])
            panel = grids.tile(grids.to_uint8(images), p["columns"], scale=max(1, 64 // images.shape[1]))
            save_png(tmp / entry["file"].replace(".npy", ".png"), panel)
            rows.setdefault(entry["sampler"], []).append((panel, entry["label"]))
    save_figure(args.overview, plots.labelled_panels(list(rows.values())))


if __name__ == "__main__":
    run_stage(main)
