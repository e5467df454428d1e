"""Stage `decode`: the first rows x columns vectors of every sampler setting, decoded into one
image grid each, and an overview with one row per sampler."""

import argparse
from pathlib import Path

from latentspace import grids, plots
from latentspace.io import atomic_path, run_stage, save_figure, save_png
from latentspace.model import load_part
from latentspace.params import at_most, load_params
from latentspace.sample_sets import load_sample_sets
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
    rows = {}  # sampler -> [(grid, label)] in manifest order (increasing value)
    with atomic_path(args.out, directory=True) as tmp:
        sets = load_sample_sets(args.samples, decoder.input_shape[-1])
        shown = at_most("decode.rows x decode.columns", p["rows"] * p["columns"], min(len(s.vectors) for s in sets),
                        "vectors of a sample set (sample.n): the grids end early")
        for s in sets:
            images = predict_in_batches(decoder, s.vectors[:shown], p["batch_size"])  # (shown, S, S, 3) in [0, 1]
            panel = grids.tile(grids.to_uint8(images), p["columns"], scale=grids.display_scale(images.shape[1], 64))
            save_png(tmp / s.file.replace(".npy", ".png"), panel)
            rows.setdefault(s.sampler, []).append((panel, s.label))
    save_figure(args.overview, plots.labelled_panels(list(rows.values())))


if __name__ == "__main__":
    run_stage(main)
