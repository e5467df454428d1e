"""Stage `neighbours`: are generated vectors new faces, or near-copies of training vectors?
Distances from every generated vector to its nearest real vectors, against the distances
between real vectors themselves, and the decoded faces side by side."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import grids, neighbours, plots, stats
from latentspace.io import InputError, load_npy, require_file, run_stage, save_curves_csv, save_figure, save_json
from latentspace.params import invalid, load_params

NEAR_COPY_QUANTILE = 0.05  # nearer than 95% of real vectors are to their nearest other real vector


def significant(x: float) -> float:
    """``x`` to 5 significant digits (a near-copy's distance of 3e-4 keeps its digits)."""
    return float(f"{x:.5g}")


def load_settings(samples: Path, dim: int) -> list[tuple[dict, np.ndarray]]:
    """(manifest entry, vectors of shape (n, dim)) for every setting in ``samples/manifest.json``."""
    manifest_path = require_file(samples / "manifest.json", "the sample stage")
    manifest = json.loads(manifest_path.read_text())
    if not manifest:
        raise InputError(f"{manifest_path}: lists no sampler settings")
    settings = []
    for entry in manifest:
        if not isinstance(entry, dict) or not {"file", "label"} <= set(entry):
            raise InputError(f"{manifest_path}: every entry needs 'file' and 'label', got {entry!r}")
        vectors = load_npy(samples / entry["file"], ndim=2)
        if vectors.shape[1] != dim or not len(vectors):
            raise InputError(f"{samples / entry['file']}: expected shape (n >= 1, {dim}), got {vectors.shape}")
        settings.append((entry, vectors))
    names = [neighbours.column_name(e["file"]) for e, _ in settings]
    if len(set(names) | {"real"}) != len(names) + 1:
        raise InputError(f"{manifest_path}: file names {names} must give distinct columns other than 'real'")
    return settings


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--samples", required=True, type=Path, help="directory of the sample stage")
    parser.add_argument("--model", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["neighbours"]

    z = np.asarray(load_npy(args.z, ndim=2), dtype=np.float32)
    n, dim = z.shape
    k = p["k"]
    if k >= n:
        raise invalid("neighbours.k", k, f"must be < the number of real vectors ({n}), so each has k other ones")
    settings = load_settings(args.samples, dim)
    require_file(args.model, "the train stage")
    names = [neighbours.column_name(entry["file"]) for entry, _ in settings]

    rng = np.random.default_rng(p["seed"])
    rows = neighbours.reference_rows(rng, n, p["n_real"])
    generated = np.concatenate([v for _, v in settings])
    with tqdm(total=len(rows) + len(generated), desc="nearest real vectors", unit="vec", file=sys.stderr) as bar:
        real_d, _ = neighbours.nearest_real(z, z[rows], k=k, exclude=rows, progress=bar.update)
        gen_d, gen_i = neighbours.nearest_real(z, generated, k=k, progress=bar.update)
    bounds = np.cumsum([0] + [len(v) for _, v in settings])  # setting s owns generated rows bounds[s]:bounds[s+1]

    real_nn = real_d[:, 0]
    nn = {"real": real_nn, **{name: gen_d[a:b, 0] for name, a, b in zip(names, bounds[:-1], bounds[1:])}}
    centres, densities = stats.common_histograms(nn, bins=p["bins"])
    real_median = float(np.median(real_nn))
    threshold = float(np.quantile(real_nn, NEAR_COPY_QUANTILE))

    # examples: a seeded draw of generated rows per setting, grouped by setting
    shown = np.concatenate([a + np.sort(rng.choice(b - a, size=min(p["examples"], b - a), replace=False))
                            for a, b in zip(bounds[:-1], bounds[1:])])
    owner = np.searchsorted(bounds, shown, side="right") - 1  # setting of each shown row
    # Keras is slow to import and logs on import: load it only once params and inputs passed their checks
    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    decoder = load_part(args.model, "decoder")
    to_decode = np.concatenate([generated[shown], z[gen_i[shown].ravel()]])
    with tqdm(total=len(to_decode), desc="decoding examples", unit="vec", file=sys.stderr) as bar:
        images = grids.to_uint8(predict_in_batches(decoder, to_decode, p["batch_size"], progress=bar.update))
    faces, near = images[: len(shown)], images[len(shown):].reshape(len(shown), k, *images.shape[1:])

    save_curves_csv(args.plots / "neighbours.csv", "distance", centres, densities)
    save_figure(args.plots / "neighbours.png", plots.nearest_distance_distributions(
        centres, densities, labels={"real": "real (to the nearest other real vector)",
                                    **{name: entry["label"] for name, (entry, _) in zip(names, settings)}},
        markers={"real median": real_median,
                 f"near-copy threshold (real {NEAR_COPY_QUANTILE:.0%} quantile)": threshold}))
    save_figure(args.plots / "neighbour_examples.png", plots.neighbour_examples(
        faces, near, gen_d[shown],
        generated_titles=[f"generated #{r - bounds[s]}\nd = {d:.3g}\n{d / real_median:.2g} x real median"
                          for r, s, d in zip(shown, owner, gen_d[shown, 0])],
        neighbour_indices=gen_i[shown], group_labels=[settings[s][0]["label"] for s in owner],
        near_copy=gen_d[shown, 0] < threshold, scale=grids.display_scale(images.shape[1], 96)))

    save_json(args.metrics, {
        "k": k,
        "n_real": int(len(rows)),
        "real_nn_median": significant(real_median),
        "near_copy_threshold": significant(threshold),
        "settings": {name: {key: significant(value) for key, value in
                            neighbours.copy_summary(nn[name], real_nn, quantile=NEAR_COPY_QUANTILE).items()}
                     for name in names},
    })


if __name__ == "__main__":
    run_stage(main)
