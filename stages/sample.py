"""Stage `sample`: new latent vectors from every sampler setting of params `sample`, one array each,
with a manifest that says which sampler and value made each file, and how well each fitted density
(normals, mixtures, kernel densities) explains the vectors it was fitted to against held-out ones
(plots/density_fit.csv; the mixture with the best held-out fit in metrics/sample.json)."""

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import samplers
from latentspace.geometry import load_principal_axes
from latentspace.io import InputError, atomic_path, check_latent_dim, load_latents, require_file, run_stage, save_json, save_metrics, save_scores_csv
from latentspace.neighbours import reference_rows
from latentspace.params import load_params, warn_switched_off
from latentspace.sample_sets import SETTING_KEYS, setting_keys


def density_fit(sampler: samplers.Sampler, z, z_holdout, *, score_rows: int, seed: int) -> dict | None:
    """Mean log density (nats per vector) of the vectors a sampler was fitted to (a seeded draw of at
    most ``score_rows`` of them: a kernel density's exact score costs a pass over its kernels per
    vector) and of held-out ones; None for a sampler without a density."""
    rows = sampler.fitted_rows(len(z))
    fitted_vectors = z[rows[reference_rows(np.random.default_rng(seed), len(rows), score_rows)]]
    fitted = sampler.log_likelihood(fitted_vectors)
    if fitted is None:
        return None
    fitted, holdout = float(fitted.mean()), float(sampler.log_likelihood(z_holdout).mean())
    # a VAE's ELBO bounds its log-likelihood from below: the same columns, marked
    return {"log_likelihood_fitted": fitted, "log_likelihood_holdout": holdout, "overfit_gap": fitted - holdout,
            "lower_bound": sampler.log_likelihood_is_lower_bound, **sampler.fit_report(), "n_fitted": len(fitted_vectors)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True, help="training vectors the samplers are fitted to")
    parser.add_argument("--component-stats", required=True, type=Path)
    parser.add_argument("--pca", required=True, type=Path)
    parser.add_argument("--z-holdout", required=True, help="held-out vectors the mixtures are scored on")
    parser.add_argument("--out", required=True, help="directory to create")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["sample"]
    warn_switched_off("sample", p)

    z = load_latents(args.z)
    with np.load(require_file(args.component_stats, "the stats stage"), allow_pickle=False) as comp:
        stats = {key: comp[key] for key in ("mu", "hw", "mean", "std")}
    if any(v.shape != (z.shape[1],) for v in stats.values()):
        raise InputError(f"{args.component_stats}: mu, hw, mean, std must have shape ({z.shape[1]},) like the "
                         f"vectors of {args.z}; re-run the stats stage (dvc repro)")
    z_holdout = load_latents(args.z_holdout)
    check_latent_dim(args.z_holdout, z_holdout, z.shape[1], expected_by=f"every vector of {args.z}")
    pca = load_principal_axes(args.pca, z.shape[1])
    cloud = samplers.LatentCloud(z=z, pca=pca, **stats)

    settings = samplers.settings_from_params(p)
    with atomic_path(args.out, directory=True) as tmp:
        manifest, densities = [], {}
        for s in tqdm(settings, desc="sampler settings", unit="setting", file=sys.stderr):
            vectors = samplers.draw_setting(s, cloud, seed=p["seed"], n=p["n"])
            np.save(tmp / f"{s.name}.npy", vectors)
            manifest.append({"file": f"{s.name}.npy", "sampler": s.kind, "param": s.param, "value": s.value,
                             "label": s.label})
            fit = density_fit(s, z, z_holdout, score_rows=p["score_rows"], seed=p["seed"])
            if fit is not None:
                densities[s] = fit
        save_json(tmp / "manifest.json", manifest)
    save_scores_csv(args.plots / "density_fit.csv", SETTING_KEYS,
                    ((setting_keys(s.kind, s.param, s.value), fit) for s, fit in densities.items()))
    mixtures = {s: fit for s, fit in densities.items() if type(s) is samplers.GaussianMixture}  # the k sweep
    # the headline: the mixture that explains held-out vectors best, with its k beside it, so a sweep
    # of sample.mixture.k lines up in one column of `dvc exp show` (not named "mixture": the metric
    # sample.mixture.k would then share its name with the param)
    best = max(mixtures, key=lambda s: mixtures[s]["log_likelihood_holdout"], default=None)
    save_metrics(args.metrics, {} if best is None else {"best_mixture": {
        "k": best.value, **{key: mixtures[best][key] for key in
                            ("log_likelihood_fitted", "log_likelihood_holdout", "overfit_gap")}}})


if __name__ == "__main__":
    run_stage(main)
