"""Stage `paths`: decoded strips along straight lines through the cloud: from its centre
along the principal axes and the dominant components, and between pairs of real vectors."""

import argparse
import sys

import numpy as np
from tqdm import tqdm

from latentspace import geometry, grids, paths, plots
from latentspace.io import InputError, atomic_path, check_latent_dim, load_latents, require_file, run_stage, save_figure, save_json
from latentspace.params import invalid, load_params, warn_switched_off


def check_against_data(p: dict, n: int, dim: int) -> None:
    """Checks that need the vectors: the params schema cannot know N or latent_dim."""
    for key in ("axes", "components"):
        if p[key] > dim:
            raise invalid(f"paths.{key}", p[key], f"must be <= latent_dim ({dim})")
    if p["interpolation"]["pairs"] and n < 2:
        raise invalid("paths.interpolation.pairs", p["interpolation"]["pairs"],
                      f"needs at least 2 real vectors, data has {n}; set it to 0")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", required=True)
    parser.add_argument("--z", required=True)
    parser.add_argument("--pca", required=True, help="principal axes (.npz) from the geometry stage")
    parser.add_argument("--component-stats", required=True, help="component statistics (.npz) from stats")
    parser.add_argument("--out", required=True, help="directory of PNGs to create")
    parser.add_argument("--described", required=True,
                        help="JSON that says which vectors and offsets each path is (outside --out: `dvc plots` "
                             "takes every file of the listed folder for a plot)")
    args = parser.parse_args()
    p = load_params(args.params)["paths"]
    warn_switched_off("paths", p)

    z = load_latents(args.z)
    n, dim = z.shape
    pca = geometry.load_principal_axes(args.pca, dim)
    with np.load(require_file(args.component_stats, "the stats stage"), allow_pickle=False) as f:
        std, dominant = f["std"], f["dominant"].astype(bool)
    if std.shape != (dim,):
        raise InputError(f"{args.component_stats}: latent_dim differs from {args.z} ({dim}); "
                         "re-run stats (dvc repro)")
    check_against_data(p, n, dim)
    require_file(args.model, "the train stage")

    t_axes = paths.offsets(p["extent"], p["steps"])
    t_mix = paths.fractions(p["interpolation"]["steps"])
    sd_columns = [paths.offset_label(t) for t in t_axes]
    sd_xlabel = "offset from the cloud's centre, in standard deviations of the cloud along the path"
    kinds = []  # (file stem, vectors (n_paths, steps, dim), row labels, column labels, title, x label)
    records = []  # what paths.json says about every path

    explained = pca.explained
    kinds.append(("principal_axes", paths.principal_axis_paths(pca.mean, pca.axes, pca.variances,
                                                                 n_axes=p["axes"], t=t_axes),
                  [f"axis {a + 1} ({explained[a]:.1%} of variance)" for a in range(p["axes"])], sd_columns,
                  f"From the cloud's centre along the first {p['axes']} principal axes", sd_xlabel))
    records += [{"kind": "principal_axes", "label": kinds[-1][2][a], "axis": a + 1,
                 "std": float(np.sqrt(pca.variances[a])), "t": t_axes.tolist()} for a in range(p["axes"])]

    components, filled = paths.walked_components(std, dominant, p["components"])
    note = f"; {filled} of them not dominant (only {p['components'] - filled} are)" if filled else ""
    kinds.append(("dominant_components", paths.component_paths(pca.mean, std, components, t=t_axes),
                  [f"z[{c}]" + ("" if dominant[c] else " (not dominant)") for c in components], sd_columns,
                  f"From the cloud's centre along single components, largest std first{note}",
                  "offset from the cloud's centre, in standard deviations of the component"))
    records += [{"kind": "dominant_components", "label": label, "component": int(c),
                 "dominant": bool(dominant[c]), "std": float(std[c]), "t": t_axes.tolist()}
                for label, c in zip(kinds[-1][2], components)]

    ends = paths.draw_pairs(np.random.default_rng(p["interpolation"]["seed"]), n, p["interpolation"]["pairs"])
    labels = [f"vector {a} -> {b}" for a, b in ends]
    kinds.append(("interpolation", paths.interpolation_paths(z, ends, t=t_mix), labels,
                  [f"t = {t:.3g}" for t in t_mix],
                  "Straight lines between pairs of real vectors (ends: their reconstructions)",
                  "(1 - t) z_start + t z_end  (vector = row of data/z.npy)"))
    records += [{"kind": "interpolation", "label": lab, "start": int(a), "end": int(b), "t": t_mix.tolist()}
                for lab, (a, b) in zip(labels, ends)]

    # Keras is slow to import and logs on import: load it only once params and inputs passed their checks
    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    decoder = load_part(args.model, "decoder")
    check_latent_dim(args.z, z, decoder.input_shape[-1])
    vectors = np.concatenate([v.reshape(-1, dim) for _, v, *_ in kinds]).astype(np.float32)
    side = decoder.output_shape[1]
    with tqdm(total=len(vectors), desc="decoding paths", unit="vec", file=sys.stderr) as bar:
        images = grids.to_uint8(predict_in_batches(decoder, vectors, p["batch_size"], progress=bar.update))
    images = images.reshape(len(vectors), side, side, 3)  # also when every kind has 0 paths

    with atomic_path(args.out, directory=True) as tmp:
        start = 0
        for stem, v, rows, columns, title, xlabel in kinds:
            strips = images[start:start + v.shape[0] * v.shape[1]].reshape(*v.shape[:2], *images.shape[1:])
            start += v.shape[0] * v.shape[1]
            if len(v):  # a kind set to 0 paths gets no figure
                save_figure(tmp / f"{stem}.png", plots.path_strips(
                    strips, row_labels=rows, column_labels=columns, title=title, xlabel=xlabel,
                    scale=grids.display_scale(side, 96)))
    save_json(args.described, {
        "centre": "mean of data/z.npy (data/pca.npz 'mean')",
        "extent": p["extent"],
        "interpolation_seed": p["interpolation"]["seed"],
        "paths": records,
    })


if __name__ == "__main__":
    run_stage(main)
