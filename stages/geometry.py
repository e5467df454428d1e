"""Stage `geometry`: principal axes of the cloud, and where the origin and uniform vectors lie
relative to it (Mahalanobis distance under the fitted normal)."""

import argparse
from pathlib import Path

import numpy as np

from latentspace import geometry, plots, stats
from latentspace.io import InputError, load_latents, run_stage, save_csv, save_figure, save_metrics, save_scores_csv, save_series_csv
from latentspace.params import load_params, warn_switched_off
from latentspace.samplers.uniform import uniform_box


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--out", required=True, help="principal axes (.npz): the map to the aligned frame")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["geometry"]
    warn_switched_off("geometry", p)

    z = load_latents(args.z)
    n, dim = z.shape
    if n < 2:
        raise InputError(f"{args.z}: {n} vector; principal axes need at least 2 training vectors: more images "
                         "(data.synthetic.n_images, or the dataset) or a larger prepare.split.train_size")
    pca = geometry.principal_axes(z, chunk_rows=p["chunk_rows"])

    real = pca.mahalanobis(z)
    origin = float(pca.mahalanobis(np.zeros((1, dim)))[0])
    core = float(np.quantile(real, p["core_quantile"]))
    rng = np.random.default_rng(p["uniform"]["seed"])
    uniform = {b: pca.mahalanobis(uniform_box(rng, p["uniform"]["n"], dim, b)) for b in p["uniform"]["b"]}
    distances = {"real": real, **{stats.uniform_label(b): d for b, d in uniform.items()}}
    centres, densities = stats.common_histograms(distances, bins=p["bins"])

    geometry.save_principal_axes(args.out, pca)
    explained = pca.explained
    save_csv(args.plots / "pca_spectrum.csv", ["axis", "explained", "cumulative"],
             ([k + 1, f"{e:.6g}", f"{c:.6g}"] for k, (e, c) in enumerate(zip(explained, np.cumsum(explained)))))
    save_csv(args.plots / "pca_loadings.csv", ["axis", "rank", "component", "loading"],
             ((a + 1, r + 1, c, f"{w:+.4f}") for a, r, c, w in
              geometry.top_loadings(pca.axes, p["top_axes"], p["loadings_per_axis"])))
    save_series_csv(args.plots / "mahalanobis.csv", "distance", centres, densities)
    axes_for = {t: pca.axes_for(t) for t in p["variance_targets"]}
    save_figure(args.plots / "pca_spectrum.png", plots.variance_spectrum(explained, axes_for))
    save_figure(args.plots / "mahalanobis.png", plots.distance_distributions(
        centres, densities, xlabel="Mahalanobis distance from the cloud's centre",
        title="Real vectors vs. uniform [-b, b] vectors, measured in the cloud's own spread",
        markers={"origin": origin, f"core ({p['core_quantile']:.0%} of real vectors)": core}))

    save_scores_csv(args.plots / "uniform_core.csv", ["b"],
                    (([b], {"in_core": geometry.fraction_within(d, core)}) for b, d in uniform.items()))
    save_scores_csv(args.plots / "variance_targets.csv", ["target"],
                    (([t], {"axes": k}) for t, k in axes_for.items()))
    save_metrics(args.metrics, {
        "centre_norm": float(np.linalg.norm(pca.mean)),
        "origin_mahalanobis": round(origin, 4),
        # how far out the origin lies: the fraction of real vectors nearer the centre than it
        "origin_beyond_fraction": geometry.fraction_within(real, origin),
        "core_radius": round(core, 4),
        "top_axis_variance_fraction": round(float(explained[0]), 5),
    })


if __name__ == "__main__":
    run_stage(main)
