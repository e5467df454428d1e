"""Stage `evaluate`: how good is each sampler setting? Fidelity and diversity of its vectors
against held-out real vectors, in latent space and after a decode / re-encode round trip,
how near they come to training vectors, and the same numbers for real training vectors as
the baseline a perfect sampler would reach."""

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import bootstrap, evaluation, neighbours, plots, quality, stats
from latentspace.geometry import load_principal_axes
from latentspace.io import InputError, check_latent_dim, csv_cell, load_latents, load_npy, require_file, run_stage, save_csv, save_figure, save_metrics, save_scores_csv, save_series_csv, significant
from latentspace.params import at_most, invalid, load_params
from latentspace.sample_sets import SETTING_KEYS, load_sample_sets, setting_keys

REAL = "real"  # the baseline's name: training vectors judged exactly like a sampler's
HELD_OUT = "real: held-out vectors"  # the radius curves' reference: the held-out vectors themselves


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True, help="training vectors")
    parser.add_argument("--z-holdout", required=True, help="held-out vectors: the reference")
    parser.add_argument("--pca", required=True, type=Path)
    parser.add_argument("--samples", required=True, type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", required=True, help="for FID only")
    parser.add_argument("--index", required=True, help="for FID only")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path)
    args = parser.parse_args()
    p = load_params(args.params)["evaluate"]

    z = load_latents(args.z)
    dim = z.shape[1]
    holdout = np.asarray(load_latents(args.z_holdout, mmap=False), dtype=np.float32)
    if holdout.shape[1] != dim:
        raise InputError(f"{args.z_holdout}: {holdout.shape[1]} components, but {args.z} has {dim}; "
                         "re-run encode (dvc repro)")
    k_max = max(p["k_precision"], p["k_density"])
    if len(holdout) <= k_max:
        raise invalid("evaluate.k_density" if p["k_density"] >= p["k_precision"] else "evaluate.k_precision",
                      k_max, f"must be < the number of held-out vectors ({len(holdout)})")
    pca = load_principal_axes(args.pca, dim)
    sets = load_sample_sets(args.samples, dim)
    small = [s.column for s in sets if len(s.vectors) <= k_max]
    if small:
        raise invalid("sample.n", len(sets[0].vectors), f"must be > {k_max} (evaluate's k) for {small[0]}")
    require_file(args.model, "the train stage")

    rng = np.random.default_rng(p["seed"])
    reference = holdout[neighbours.reference_rows(rng, len(holdout), p["n_reference"])]  # at most (all if fewer)
    n_samples = max(len(s.vectors) for s in sets)
    real = np.asarray(z[neighbours.reference_rows(rng, len(z), n_samples)], dtype=np.float32)
    vectors = {REAL: real, **{s.column: s.vectors for s in sets}}

    # the core: the central range of held-out Mahalanobis distances under the normal fitted to training vectors
    core = quality.mahalanobis_range(pca.mahalanobis(holdout), quantile=p["core_quantile"])
    # memorisation yardstick: how near a new real face (held-out) comes to a training vector
    held_nn = quality.nearest_distances(z, reference)
    nn = {REAL: held_nn}
    for name in tqdm(vectors, desc="nearest training vectors", unit="setting", file=sys.stderr):
        if name != REAL:
            nn[name] = quality.nearest_distances(z, vectors[name])

    # Keras is slow to import: load it once the inputs passed their checks
    from latentspace.model import load_autoencoder
    from latentspace.training import predict_in_batches

    autoencoder = load_autoencoder(args.model)
    encoder, decoder = autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
    check_latent_dim(args.z, z, decoder.input_shape[-1])
    results, decoded = {}, {}
    resampling = bootstrap.Resampling.draw(p["seed"], len(reference), p["bootstrap"]["resamples"])
    scores = dict(k_precision=p["k_precision"], k_density=p["k_density"], resampling=resampling,
                  reference_radii=evaluation.reference_radii(reference, k_precision=p["k_precision"],
                                                             k_density=p["k_density"]),
                  reference_normal=bootstrap.ReferenceNormal.of(reference))
    for name, v in tqdm(vectors.items(), desc="decode, re-encode, score", unit="setting", file=sys.stderr):
        images = predict_in_batches(decoder, v, p["batch_size"])
        decoded[name] = images[: p["fid"]["n"]]
        reencoded = predict_in_batches(encoder, images, p["batch_size"])
        results[name] = scored_setting(v, reencoded, reference, nn[name], held_nn, core, pca, scores, p)
    add_fid(results, decoded, args, p)

    which = {REAL: (REAL, "", None), **{s.column: (s.sampler, s.param, s.value) for s in sets}}
    save_outputs(args, p, results, reference, vectors, which,
                 labels={REAL: "real: training vectors", **{s.column: s.label for s in sets}})


def scored_setting(v, reencoded, reference, nn, held_nn, core, pca, scores: dict, p: dict) -> dict:
    """Every metric of one setting's vectors ``v`` (n, d) and their re-encodings, and under
    ``replicates`` the same structure holding each metric's bootstrap replicates (resamples,)."""
    rows = scores["resampling"].set_rows(len(v))
    inside = quality.within(pca.mahalanobis(v), *core)
    latent, latent_replicates = evaluation.set_quality_replicates(reference, v, **scores)
    again, again_replicates = evaluation.set_quality_replicates(reference, reencoded, **scores)
    return {"in_core": float(inside.mean()), "latent": latent, "reencoded": again,
            "memorisation": neighbours.copy_summary(nn, held_nn, quantile=p["near_copy_quantile"]),
            "replicates": {"in_core": bootstrap.mean_replicates(inside, rows), "latent": latent_replicates,
                           "reencoded": again_replicates,
                           "memorisation": neighbours.copy_replicates(nn, held_nn, rows,
                                                                      quantile=p["near_copy_quantile"])}}


def save_outputs(args, p: dict, results: dict, reference, vectors: dict, which: dict, labels: dict) -> None:
    """The plot data, figures and headline metrics of the scored settings (keyed by column name;
    ``which`` says each one's sampler, param and value)."""
    radii = {REAL: stats.vector_radii(reference), **{name: stats.vector_radii(v) for name, v in vectors.items()
                                                      if name != REAL}}
    centres, densities = stats.common_histograms(radii, bins=p["bins"])
    groups = {}
    for name, (sampler, _, _) in which.items():
        if name != REAL:
            groups.setdefault(sampler, []).append(name)
    scores = {name: {k: significant(v) for k, v in evaluation.flat_scores(r).items()} for name, r in results.items()}
    replicates = {name: evaluation.flat_scores(r["replicates"]) for name, r in results.items()}
    level = p["bootstrap"]["level"]
    intervals = {name: {k: tuple(map(significant, bootstrap.percentile_interval(v, level))) for k, v in reps.items()}
                 for name, reps in replicates.items()}
    keys = {name: setting_keys(*which[name]) for name in results}

    # one row per setting (the bar charts, each metric's interval in <metric>_low, <metric>_high), and
    # every number in long format (`dvc plots diff`)
    metric_names = list(next(iter(scores.values())))
    bounds = [f"{m}_{end}" for m in metric_names if m in intervals[REAL] for end in ("low", "high")]
    save_csv(args.plots / "sampling.csv", [*SETTING_KEYS, *metric_names, *bounds],
             ([*map(csv_cell, keys[name]), *s.values(), *(csv_cell(x) for m in s if m in intervals[name]
                                                          for x in intervals[name][m])]
              for name, s in scores.items()))
    save_scores_csv(args.plots / "sampling_scores.csv", SETTING_KEYS,
                    ((keys[name], s, intervals[name]) for name, s in scores.items()), intervals=True)
    save_csv(args.plots / "frechet_differences.csv", ["setting", "versus", "difference", "low", "high"],
             ([keys[a][0], keys[b][0], *map(csv_cell, map(significant, row))] for a, b, row in
              bootstrap.pairwise_differences({n: r["reencoded_frechet"] for n, r in replicates.items()},
                                             {n: s["reencoded_frechet"] for n, s in scores.items()}, level)))
    save_series_csv(args.plots / "sampling_radii.csv", "radius", centres,
                    {(HELD_OUT if n == REAL else keys[n][0]): d for n, d in densities.items()})
    save_figure(args.plots / "sampling.png", plots.sampling_summary(scores, labels=labels, baseline=REAL,
                                                                    intervals=intervals, level=level))
    save_figure(args.plots / "sampling_radii.png", plots.radius_histograms(
        centres, densities, groups=groups, labels={**labels, REAL: HELD_OUT}, real=REAL,
        title="Radius |z| of each sampler's vectors over the held-out vectors' (grey)"))
    save_metrics(args.metrics, evaluation.best_per_sampler(scores, which))


def add_fid(results: dict, decoded: dict, args, p: dict) -> None:
    """FID of each setting's decoded images against held-out images, when InceptionV3's
    ImageNet weights are already in the Keras cache; otherwise say why it is skipped."""
    from latentspace import fid
    from latentspace.splits import split_indices

    weights = fid.cached_inception_weights()
    if weights is None:
        print("evaluate: FID skipped: InceptionV3's ImageNet weights are not in the Keras cache "
              f"({fid.weights_path()}); put the file there (keras.applications.InceptionV3(weights='imagenet') "
              "downloads it on a machine with internet) to add `fid` to plots/sampling.csv", file=sys.stderr)
        return
    images = load_npy(args.images, mmap=True, ndim=4)
    _, held_rows = split_indices(args.index, len(images))
    n = at_most("evaluate.fid.n", p["fid"]["n"], min(len(held_rows), *map(len, decoded.values())),
                f"held-out images in {args.index} or vectors of a sample set")
    held = images[held_rows[:n]].astype(np.float32) / 255.0
    features = lambda x: fid.inception_features(x, weights=weights, image_size=p["fid"]["image_size"])  # noqa: E731
    held_features = features(held)
    for name in tqdm(results, desc="FID", unit="setting", file=sys.stderr):
        results[name]["fid"] = quality.frechet_distance_of(held_features, features(decoded[name][:n]))


if __name__ == "__main__":
    run_stage(main)
