"""Stage `stats`: per-component distributions, dominant components and vector radii."""

import argparse
from pathlib import Path

import numpy as np

from latentspace import plots, stats
from latentspace.io import atomic_path, load_latents, run_stage, save_csv, save_figure, save_metrics, save_scores_csv, save_series_csv
from latentspace.params import invalid, load_params
from latentspace.samplers.uniform import uniform_box


HISTOGRAM_BINS_MAX = 100_000  # bins of the common grid: latent_dim x bins int64 counts (200 MB at 256)


def check_bins(bin_width: float, low: float, high: float) -> None:
    """A bin width so small that the vectors' range holds more than HISTOGRAM_BINS_MAX bins is
    refused by name (it would exhaust memory, or overflow the bin index)."""
    bins = (high - low) / bin_width + 2
    if not bins <= HISTOGRAM_BINS_MAX:  # also inf
        raise invalid("stats.bin_width", bin_width, f"must be >= {(high - low) / (HISTOGRAM_BINS_MAX - 2):.3g}: "
                      f"the vectors' range [{low:.3g}, {high:.3g}] would hold more than {HISTOGRAM_BINS_MAX:,} bins")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--out", required=True, help="component statistics (.npz)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["stats"]

    z = load_latents(args.z)
    n, dim = z.shape
    value_range = float(np.min(z)), float(np.max(z))
    check_bins(p["bin_width"], *value_range)
    mean, std = stats.component_moments(z)
    centres, counts = stats.binned_counts(z, p["bin_width"], value_range=value_range)
    mu, hw = stats.peak_and_halfwidth(centres, counts, p["bin_width"])
    dominant = stats.dominant_components(mu, hw, **p["dominant"])

    r = p["radius"]
    rng = np.random.default_rng(r["seed"])
    real = stats.vector_radii(z)
    uniform = {b: stats.vector_radii(uniform_box(rng, r["n_uniform"], dim, b)) for b in r["b"]}
    best_b, distances = stats.best_matching_b(real, uniform)
    radii = {"real": real, **{stats.uniform_label(b): u for b, u in uniform.items()}}
    radius_centres, densities = stats.common_histograms(radii, bins=r["bins"])

    with atomic_path(args.out) as tmp:
        np.savez(tmp, mean=mean, std=std, mu=mu, hw=hw, dominant=dominant)
    save_csv(args.plots / "components.csv", ["component", "mean", "std", "mu", "hw", "dominant"],
             ([k, f"{mean[k]:.6g}", f"{std[k]:.6g}", mu[k], hw[k], int(dominant[k])] for k in range(dim)))
    save_series_csv(args.plots / "radii.csv", "radius", radius_centres, densities)
    shown = np.flatnonzero(dominant)[: p["max_histograms"]]  # at most: the dominant ones are the data's call
    save_figure(args.plots / "dominant_histograms.png",
                plots.component_histograms(centres, counts, shown, mu, hw, bin_width=p["bin_width"]))
    save_figure(args.plots / "radii.png", plots.distance_distributions(
        radius_centres, densities, xlabel="vector length |z|",
        title="Radii of real latent vectors vs. vectors with components uniform on [-b, b]"))

    # RMS radius of uniform [-b, b] vectors over the real mean radius (1: the right length), and the
    # Wasserstein-1 distance between the real and the uniform-b radius distributions
    save_scores_csv(args.plots / "radius_by_b.csv", ["b"], (
        ([b], {"uniform_radius_ratio": stats.expected_uniform_radius(b, dim) / real.mean(),
               "radius_distance": distances[b]}) for b in r["b"]))
    save_metrics(args.metrics, {
        "n_dominant": int(dominant.sum()),
        "median_hw": float(np.median(hw)),
        "radius_mean": float(real.mean()),
        "radius_best_b": best_b,
    })


if __name__ == "__main__":
    run_stage(main)
