"""Stage `neighbours`: are generated vectors new faces, or near-copies of training vectors?
Distances from every generated vector to its nearest real vectors, against the distances
between real vectors themselves, and the decoded faces side by side."""

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import grids, neighbours, plots, stats
from latentspace.sample_sets import SETTING_KEYS, load_sample_sets
from latentspace.io import check_latent_dim, load_latents, require_file, run_stage, save_figure, save_metrics, save_scores_csv, save_series_csv, significant
from latentspace.params import at_most, invalid, load_params

NEAR_COPY_QUANTILE = 0.05  # nearer than 95% of real vectors are to their nearest other real vector


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

    z = np.asarray(load_latents(args.z, mmap=False), dtype=np.float32)
    n, dim = z.shape
    k = p["k"]
    if k >= n:
        raise invalid("neighbours.k", k, f"must be < the number of real vectors ({n}), so each has k other ones")
    settings = load_sample_sets(args.samples, dim)
    require_file(args.model, "the train stage")
    names = [s.column for s in settings]

    rng = np.random.default_rng(p["seed"])
    rows = neighbours.reference_rows(rng, n, p["n_real"])  # at most (all if fewer)
    generated = np.concatenate([s.vectors for s in settings])
    with tqdm(total=len(rows) + len(generated), desc="nearest real vectors", unit="vec", file=sys.stderr) as bar:
        real_d, _ = neighbours.nearest_real(z, z[rows], k=k, exclude=rows, progress=bar.update)
        gen_d, gen_i = neighbours.nearest_real(z, generated, k=k, progress=bar.update)
    bounds = np.cumsum([0] + [len(s.vectors) for s in settings])  # setting s owns generated rows bounds[s]:bounds[s+1]

    real_nn = real_d[:, 0]
    nn = {"real": real_nn, **{name: gen_d[a:b, 0] for name, a, b in zip(names, bounds[:-1], bounds[1:])}}
    centres, densities = stats.common_histograms(nn, bins=p["bins"])
    real_median = float(np.median(real_nn))
    threshold = float(np.quantile(real_nn, NEAR_COPY_QUANTILE))

    # examples: a seeded draw of generated rows per setting, grouped by setting
    examples = at_most("neighbours.examples", p["examples"], min(bounds[1:] - bounds[:-1]), "vectors of a sample set")
    shown = np.concatenate([a + np.sort(rng.choice(b - a, size=examples, replace=False))
                            for a, b in zip(bounds[:-1], bounds[1:])])
    owner = np.searchsorted(bounds, shown, side="right") - 1  # setting of each shown row
    # Keras is slow to import and logs on import: load it only once params and inputs passed their checks
    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    decoder = load_part(args.model, "decoder")
    check_latent_dim(args.z, z, decoder.input_shape[-1])
    to_decode = np.concatenate([generated[shown], z[gen_i[shown].ravel()]])
    with tqdm(total=len(to_decode), desc="decoding examples", unit="vec", file=sys.stderr) as bar:
        images = grids.to_uint8(predict_in_batches(decoder, to_decode, p["batch_size"], progress=bar.update))
    faces, near = images[: len(shown)], images[len(shown):].reshape(len(shown), k, *images.shape[1:])

    save_series_csv(args.plots / "neighbours.csv", "distance", centres,
                    {"real": densities["real"], **{s.setting: densities[s.column] for s in settings}})
    save_figure(args.plots / "neighbours.png", plots.nearest_distance_distributions(
        centres, densities, labels={"real": "real (to the nearest other real vector)",
                                    **{s.column: s.label for s in settings}},
        markers={"real median": real_median,
                 f"near-copy threshold (real {NEAR_COPY_QUANTILE:.0%} quantile)": threshold}))
    save_figure(args.plots / "neighbour_examples.png", plots.neighbour_examples(
        faces, near, gen_d[shown],
        generated_titles=[f"generated #{r - bounds[s]}\nd = {d:.3g}\n{d / real_median:.2g} x real median"
                          for r, s, d in zip(shown, owner, gen_d[shown, 0])],
        neighbour_indices=gen_i[shown], group_labels=[settings[s].label for s in owner],
        near_copy=gen_d[shown, 0] < threshold, scale=grids.display_scale(images.shape[1], 96)))

    save_scores_csv(args.plots / "near_copies.csv", SETTING_KEYS, (
        (s.keys,
         {key: significant(value) for key, value in
          neighbours.copy_summary(nn[s.column], real_nn, quantile=NEAR_COPY_QUANTILE).items()})
        for s in settings))
    save_metrics(args.metrics, {
        "real_nn_median": significant(real_median),
        "near_copy_threshold": significant(threshold),
    })


if __name__ == "__main__":
    run_stage(main)
