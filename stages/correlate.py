"""Stage `correlate`: Pearson correlations of the components, on an M-sample and on all vectors."""

import argparse
import warnings
from pathlib import Path

import numpy as np

from latentspace import correlation, plots
from latentspace.io import load_latents, run_stage, save_csv, save_figure, save_metrics, save_npy
from latentspace.params import invalid, load_params, warn_switched_off
from latentspace.samplers.uniform import uniform_box


def check_against_data(p: dict, n: int, dim: int) -> None:
    """Checks that need the vectors: the params schema cannot know N."""
    if p["M"] > n:
        raise invalid("correlate.M", p["M"], f"must be <= the number of vectors ({n})")
    for k, c in enumerate(p["slice"]["components"]):
        if c >= dim:
            raise invalid(f"correlate.slice.components[{k}]", c, f"must be < latent_dim ({dim})")
    if p["scatter"]["special_index"] >= n:
        raise invalid("correlate.scatter.special_index", p["scatter"]["special_index"],
                      f"must be < the number of vectors ({n})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--data", required=True, type=Path, help="directory of the .npy outputs")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path)
    args = parser.parse_args()
    p = load_params(args.params)["correlate"]
    warn_switched_off("correlate", p)

    z = load_latents(args.z)
    n, dim = z.shape
    check_against_data(p, n, dim)

    idx = correlation.sample_rows(np.random.default_rng(p["seed"]), n, p["M"])
    z_sample = np.asarray(z[idx])  # (M, latent_dim), in draw order
    r_sample = correlation.pearson(z_sample)
    r_full = correlation.pearson(z, chunk_rows=p["chunk_rows"])
    selected = correlation.slice_rows(z_sample, p["slice"]["components"], p["slice"]["threshold"])
    if len(selected) == 0:
        warnings.warn(f"correlate.slice: no sampled vector has every component except "
                      f"{p['slice']['components']} below {p['slice']['threshold']}", stacklevel=1)

    for name, array in (("corr_sample_idx", idx), ("corr_sample", r_sample), ("corr_full", r_full),
                        ("corr_slice_idx", idx[selected])):
        save_npy(args.data / f"{name}.npy", array)

    counts = {kind: correlation.count_pairs_above(r, p["thresholds"])
              for kind, r in (("sample", r_sample), ("full", r_full))}
    pairs = correlation.pairs_above(r_sample, p["pair_threshold"])
    save_csv(args.plots / "correlated_pairs.csv", ["i", "j", "r_sample", "r_full"],
             ((i, j, f"{r:.6f}", f"{r_full[i, j]:.6f}") for i, j, r in pairs))
    save_csv(args.plots / "pairs_above.csv", ["threshold", "sample", "full"],
             ((t, counts["sample"][t], counts["full"][t]) for t in counts["sample"]))

    save_figure(args.plots / "correlation_heatmap.png",
                plots.correlation_heatmap(r_sample, title=f"Pearson r of the latent components (M = {p['M']})"))
    s = p["scatter"]
    uniform = uniform_box(np.random.default_rng(s["seed"]), s["n_uniform"], dim, s["b"])
    save_figure(args.plots / "correlated_pairs.png", plots.pair_scatter_grid(
        z_sample, correlation.top_pairs(r_sample, s["max_pairs"]), uniform, np.asarray(z[s["special_index"]]),
        b=s["b"], special_index=s["special_index"]), dpi=80)
    save_figure(args.plots / "slice.png", plots.slice_scatter(
        z_sample, selected, p["slice"]["components"], threshold=p["slice"]["threshold"]))

    # the M-curve ends at all N vectors, where the estimate is exact
    m_values = [m for m in p["m_curve"] if m < n] + [n]
    curve = correlation.sample_size_curve(z, r_full, m_values, p["thresholds"], np.random.default_rng(p["seed"]),
                                          chunk_rows=p["chunk_rows"])
    save_csv(args.plots / "pairs_vs_m.csv", ["M", "threshold", "pairs", "pairs_full"],
             ((m, t, c, counts["full"][t]) for m, row in zip(curve["M"], curve["pairs"])
              for t, c in zip(counts["full"], row)))
    save_csv(args.plots / "sample_error_vs_m.csv", ["M", "max_abs", "median_abs"],
             ((m, f"{a:.6g}", f"{b:.6g}") for m, a, b in zip(curve["M"], curve["max_abs"], curve["median_abs"])))
    save_figure(args.plots / "sample_size.png", plots.sample_size_convergence(
        curve["M"], curve["pairs"], list(counts["full"].values()), p["thresholds"],
        curve["max_abs"], curve["median_abs"]))

    error = np.abs(r_sample - r_full)[np.triu_indices(dim, k=1)]
    save_metrics(args.metrics, {
        "M": p["M"],
        "pairs_above_sample": len(pairs),  # |r| above pair_threshold in the M-sample ...
        "pairs_above_full": correlation.count_pairs_above(r_full, [p["pair_threshold"]])[p["pair_threshold"]],
        # ... and how far the M-sample's counts are from the exact ones, at the worst threshold
        "count_error_max": round(correlation.count_error(counts["sample"], counts["full"]), 5),
        "sample_error_max_abs": round(float(error.max()), 5),
    })


if __name__ == "__main__":
    run_stage(main)
