"""Stage `normality`: how Gaussian the latent cloud is, per component, per principal axis, and in
2-D projections against the fitted normal's k-sigma ellipses."""

import argparse
from pathlib import Path

import numpy as np

from latentspace import correlation, geometry, normality, plots
from latentspace.io import InputError, load_latents, load_npy, run_stage, save_csv, save_figure, save_metrics, save_scores_csv
from latentspace.params import invalid, load_params, warn_switched_off

MIN_VECTORS = 20  # below this D'Agostino-Pearson's kurtosis test is not valid


def check_against_data(p: dict, dim: int) -> None:
    """Checks that need latent_dim: the params schema cannot know it."""
    if 2 * p["planes"] > dim:
        raise invalid("normality.planes", p["planes"], f"must be <= latent_dim / 2 ({dim // 2})")
    n_pairs = dim * (dim - 1) // 2
    if p["pairs"] > n_pairs:
        raise invalid("normality.pairs", p["pairs"], f"must be <= the number of component pairs ({n_pairs})")


def panel(xy: np.ndarray, shown: np.ndarray, sigmas, title: str, xlabel: str, ylabel: str):
    """One projection: the fit on all vectors, the drawn subset for the figure."""
    fit = normality.fit_plane(xy, sigmas)
    return fit, {"points": xy[shown], "mean": fit.mean, "outlines": fit.outlines(), "observed": fit.observed,
                 "title": title, "xlabel": xlabel, "ylabel": ylabel}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--pca", required=True, help="principal axes (.npz) from the geometry stage")
    parser.add_argument("--corr", required=True, help="exact Pearson r of all vectors (.npy)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["normality"]
    warn_switched_off("normality", p)

    z = load_latents(args.z)
    n, dim = z.shape
    if n < MIN_VECTORS:
        raise InputError(f"{args.z}: {n} vectors; the normality test needs at least {MIN_VECTORS}")
    check_against_data(p, dim)
    pca = geometry.load_principal_axes(args.pca, dim)
    r = load_npy(args.corr, ndim=2)
    if r.shape != (dim, dim):
        raise InputError(f"{args.corr}: expected a ({dim}, {dim}) correlation matrix for latent_dim {dim}, "
                         f"got shape {r.shape}")

    rng = np.random.default_rng(p["seed"])
    test_rows = normality.sample_rows(rng, n, p["test_size"])  # seeded draws of at most (all if fewer)
    shown = normality.sample_rows(rng, n, p["max_points"])
    components = normality.column_normality(z, test_rows, alpha=p["alpha"], chunk_rows=p["chunk_rows"],
                                            progress=True)
    axes = normality.column_normality(z, test_rows, alpha=p["alpha"], directions=pca.axes, centre=pca.mean,
                                      chunk_rows=p["chunk_rows"], progress=True)

    sigmas, explained = p["sigmas"], pca.explained
    pair_panels = [panel(np.asarray(z[:, [i, j]], dtype=np.float64), shown, sigmas,
                         f"z[{i}] - z[{j}]: r = {rij:+.2f}", f"z[{i}]", f"z[{j}]")[1]
                   for i, j, rij in correlation.top_pairs(r, p["pairs"])]
    # the plane of axes 1-2 always feeds the metrics, even with no planes drawn
    aligned = normality.project(z, pca.axes[:, :2 * max(p["planes"], 1)], centre=pca.mean,
                                chunk_rows=p["chunk_rows"])
    plane_fits, plane_panels = [], []
    for a in range(0, aligned.shape[1], 2):
        fit, drawn = panel(aligned[:, a:a + 2], shown, sigmas,
                           f"axes {a + 1} - {a + 2} ({explained[a] + explained[a + 1]:.1%} of variance)",
                           f"axis {a + 1}", f"axis {a + 2}")
        plane_fits.append(fit)
        plane_panels.append(drawn)

    save_csv(args.plots / "normality_components.csv",
             ["component", "ks_distance", "skewness", "excess_kurtosis", "p_value", "normal"],
             ([k, *columns_of(components, k)] for k in range(dim)))
    save_csv(args.plots / "normality_axes.csv",
             ["axis", "explained", "ks_distance", "skewness", "excess_kurtosis", "p_value", "normal"],
             ([k + 1, f"{explained[k]:.6g}", *columns_of(axes, k)] for k in range(dim)))
    save_figure(args.plots / "normality.png",
                plots.normality_overview(components, axes, reference=normality.ks_reference(n), n_vectors=n))
    expected = normality.expected_coverage(sigmas)
    save_figure(args.plots / "projections.png", plots.projection_grid(
        [pair_panels, plane_panels[:p["planes"]]], sigmas=sigmas, expected=expected), dpi=80)

    summaries = {"component": components.summary(), "axis": axes.summary()}
    save_scores_csv(args.plots / "normality_summary.csv", ["kind"], (([kind], summary) for kind, summary in
                                                                    summaries.items()))
    # share of the fitted normal's mass within k sigma, observed on the top principal plane and expected
    save_scores_csv(args.plots / "coverage.csv", ["sigma"], (
        ([k], {"observed_top_plane": round(float(c), 4), "expected": round(float(e), 4)})
        for k, c, e in zip(sigmas, plane_fits[0].observed, expected)))
    save_metrics(args.metrics, {
        "component_normal_fraction": summaries["component"]["normal_fraction"],
        "axis_normal_fraction": summaries["axis"]["normal_fraction"],
        "axis_median_ks": summaries["axis"]["median_ks_distance"],
    })


def columns_of(result: normality.ColumnNormality, k: int) -> list:
    """One CSV row's statistics of column k."""
    return [f"{result.ks_distance[k]:.6g}", f"{result.skewness[k]:.6g}", f"{result.excess_kurtosis[k]:.6g}",
            f"{result.p_value[k]:.4g}", int(result.normal[k])]


if __name__ == "__main__":
    run_stage(main)
