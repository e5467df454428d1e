"""Stage `attributes`: what the latent components mean. Correlations of the components and of
the principal axes with the dataset's attributes, attribute directions mean(z | with) -
mean(z | without), and decoded strips z + s * d scored by a pixel-space judge."""

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import attributes, geometry, grids, plots
from latentspace.io import InputError, atomic_path, check_latent_dim, load_latents, require_file, run_stage, save_csv, save_figure, save_metrics, save_scores_csv
from latentspace.params import at_most, invalid, load_params, warn_switched_off


def drawn_directions(p: dict, ann: attributes.Annotations, index_csv) -> list[str]:
    """The configured directions to draw, after the checks that need the data."""
    directions = attributes.chosen_binary(p["directions"], "attributes.directions", ann, index_csv,
                                          "no direction is drawn")
    if directions:
        s = p["strengths"]
        if 0 not in s or max(s) <= 0:
            raise invalid("attributes.strengths", s, "must contain 0 (the faces' own reconstructions) "
                          "and a positive strength")
    return directions


def number(x: float | None, digits: int = 4):
    """A rounded float for the metrics, None for NaN (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--pca", required=True, help="principal axes (.npz) from the geometry stage")
    parser.add_argument("--component-stats", required=True, help="component statistics (.npz) from stats")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--out", required=True, help="attribute directions (.npz)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    p = load_params(args.params)["attributes"]
    warn_switched_off("attributes", p)

    z = load_latents(args.z)
    n, dim = z.shape
    ann = attributes.read_annotations(require_file(args.index, "the prepare stage"), n)
    pca = geometry.load_principal_axes(args.pca, dim)
    with np.load(require_file(args.component_stats, "the stats stage"), allow_pickle=False) as f:
        dominant = f["dominant"].astype(bool)
    if dominant.shape != (dim,):
        raise InputError(f"{args.component_stats}: {dominant.shape[0]} components, but {args.z} has {dim}; "
                         "re-run stats (dvc repro)")
    if not ann.names:
        warnings.warn(f"{args.index} has no attribute columns (a plain folder of faces): "
                      "the attribute outputs are empty and no direction is drawn", stacklevel=1)
        write_empty(args, dim)
        return
    directed = drawn_directions(p, ann, args.index)

    names, binary = list(ann.names), ann.binary_names
    r_comp = attributes.cross_correlation(z, ann.values, chunk_rows=p["chunk_rows"], y_names=names)
    with warnings.catch_warnings():  # the same constant columns were reported just above
        warnings.simplefilter("ignore", RuntimeWarning)
        r_axes = attributes.cross_correlation(z, ann.values, chunk_rows=p["chunk_rows"], transform=pca.aligned)
    labels = ann.labels(binary)  # (n, n_binary) bool
    directions, with_, without = attributes.attribute_directions(z, labels, chunk_rows=p["chunk_rows"],
                                                                 names=binary)

    effects, scores, panels, judged = {}, {}, [], {"n_train": 0, "n_test": 0}
    if directed:  # before any output is written: the judge is the step most likely to fail
        effects, scores, panels, judged = judge_directions(args, p, z, binary, labels, directions, directed)

    with atomic_path(args.out) as tmp:
        np.savez(tmp, names=np.array(binary, dtype=str), directions=directions, counts_with=with_,
                 counts_without=without)
    long_rows = [(kind, k + base, a, f"{r[k, j]:+.4f}")
                 for kind, r, base in (("component", r_comp, 0), ("axis", r_axes, 1))
                 for k in range(dim) for j, a in enumerate(names)]
    save_csv(args.plots / "attribute_correlations.csv", ["kind", "index", "attribute", "r"], long_rows)
    order = attributes.strongest_first(r_comp)
    shown_axes = at_most("attributes.heatmap_rows", p["heatmap_rows"], dim, "principal axes (latent_dim)")
    by_dominance = np.concatenate([order[dominant[order]], order[~dominant[order]]])  # dominant ones first
    save_csv(args.plots / "top_attributes.csv", TOP_COLUMNS,
             top_rows("component", r_comp, by_dominance, 0, names, dominant) +
             top_rows("axis", r_axes, np.arange(shown_axes), 1, names))
    shown = order[: p["heatmap_rows"]]
    save_figure(args.plots / "attribute_heatmap.png",
                plots.attribute_heatmaps(r_comp[shown], shown, r_axes[:shown_axes], names))

    if panels:
        save_figure(args.plots / "attribute_directions.png", plots.attribute_strips(panels, p["strengths"]))
    else:
        why = ("attributes.directions is empty" if not p["directions"] else
               f"{args.index} has no binary attributes" if not binary else "no direction could be computed")
        save_figure(args.plots / "attribute_directions.png",
                    plots.attribute_note(f"No attribute direction to show: {why}.", title="Attribute directions"))

    first, _ = attributes.top_two(r_comp)
    strongest = int(order[0])
    balanced = [s["balanced_accuracy"] for s in scores.values() if math.isfinite(s["balanced_accuracy"])]
    # every direction's numbers in long format; the strongest component and axes are in top_attributes.csv
    save_scores_csv(args.plots / "attribute_directions.csv", DIRECTION_KEYS, (
        direction_row(a, with_[binary.index(a)], without[binary.index(a)], effects.get(a), scores.get(a))
        for a in directed))
    # the judge's score on every binary attribute (its fit and test sizes in each row): the headline's mean
    save_scores_csv(args.plots / "judge_scores.csv", ["attribute"],
                    (([a], {**score, **judged}) for a, score in scores.items()))
    save_metrics(args.metrics, {
        "strongest_component_r": number(r_comp[strongest, first[strongest]]),
        # the judge, fitted on decoded real vectors (None when no direction is drawn)
        "judge_mean_balanced_accuracy": number(np.mean(balanced)) if balanced else None,
    })


DIRECTION_KEYS = ("attribute", "largest_other")


def direction_row(attribute: str, count_with: int, count_without: int, effect: dict | None,
                  score: dict | None) -> tuple[list, dict]:
    """One direction's :data:`DIRECTION_KEYS` values and numbers; None where it could not be drawn or judged."""
    effect = effect or {"own_change": None, "largest_other": None, "largest_other_change": None}
    score = score or {"accuracy": None, "balanced_accuracy": None}
    return [attribute, effect["largest_other"] or ""], {
        "with": int(count_with), "without": int(count_without), "own_change": number(effect["own_change"]),
        "largest_other_change": number(effect["largest_other_change"]),
        "judge_accuracy": number(score["accuracy"]), "judge_balanced_accuracy": number(score["balanced_accuracy"])}


TOP_COLUMNS = ["kind", "index", "dominant", "attribute", "r", "second_attribute", "r2"]


def top_rows(kind: str, r: np.ndarray, rows, base: int, names: list[str], dominant=None) -> list[tuple]:
    """:data:`TOP_COLUMNS` rows for ``rows`` of ``r``; ``dominant`` (flags per row of ``r``)
    only for components, the column stays empty for axes."""
    first, second = attributes.top_two(r)
    return [(kind, int(k) + base, "" if dominant is None else int(dominant[k]), names[first[k]],
             f"{r[k, first[k]]:+.4f}", names[second[k]] if second[k] >= 0 else "",
             f"{r[k, second[k]]:+.4f}" if second[k] >= 0 else "")
            for k in rows]


def judge_directions(args, p: dict, z, binary: list[str], labels, directions, directed: list[str]):
    """Fit the pixel judge on decoded real vectors, then decode and score each direction's strip.

    Returns
    -------
    effects : dict of attribute -> direction_effect dict
    scores : dict of attribute -> judge_scores dict (every binary attribute)
    panels : list of (tiled strip uint8, label) for the figure
    sizes : dict with the judge's n_train and n_test (shrunk to fit small datasets)
    """
    # Keras takes seconds to import; only this branch decodes.
    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    decoder = load_part(args.model, "decoder")
    check_latent_dim(args.z, z, decoder.input_shape[-1])
    n = len(z)
    n_fit, n_test = attributes.judge_sizes(p["judge"]["n_train"], p["judge"]["n_test"], n)
    rng = np.random.default_rng(p["seed"])  # draws, in order: judge rows, then each direction's faces

    def decode(vectors, rows=None, desc=None):
        count = len(vectors) if rows is None else len(rows)
        with tqdm(total=count, desc=desc, unit="vec", disable=desc is None) as bar:
            return predict_in_batches(decoder, vectors, p["batch_size"], rows=rows, progress=bar.update)

    rows = rng.choice(n, n_fit + n_test, replace=False)
    fit_rows, test_rows = np.sort(rows[:n_fit]), np.sort(rows[n_fit:])  # sorted: memmap reads in order
    judge = attributes.fit_judge(decode(z, fit_rows, "decode (judge)"), labels[fit_rows], binary,
                                 seed=p["seed"], progress=True)
    scores = attributes.judge_scores(judge, decode(z, test_rows, "decode (judge test)"), labels[test_rows])

    effects, panels = {}, []
    for a in directed:
        k = binary.index(a)
        if not np.isfinite(directions[k]).all():
            continue  # attribute_directions warned: no vector has it, or every vector does
        candidates = np.flatnonzero(~labels[:, k])
        faces = np.sort(rng.choice(candidates, at_most("attributes.faces", p["faces"], len(candidates),
                                                       f"vectors without {a}"), replace=False))
        strips = attributes.decode_strips(decode, np.asarray(z[faces]), directions[k], p["strengths"])
        response = attributes.strength_response(judge, strips)  # (n_strengths, n_binary)
        effects[a] = attributes.direction_effect(response, p["strengths"], binary, a)
        s = np.asarray(p["strengths"])
        size = strips.shape[2]
        panel = grids.tile(grids.to_uint8(strips.reshape(-1, *strips.shape[2:])), len(s),
                           scale=grids.display_scale(size, 64))
        p0, p1 = response[int(np.flatnonzero(s == 0)[0]), k], response[int(np.argmax(s)), k]
        panels.append((panel, f"+ {a}: the judge's P({a}) {p0:.2f} at s = 0, {p1:.2f} at s = {s.max():g}"))
    return effects, scores, panels, {"n_train": int(n_fit), "n_test": int(n_test)}


def write_empty(args, dim: int) -> None:
    """Empty-but-valid outputs for a dataset without attribute columns."""
    with atomic_path(args.out) as tmp:
        np.savez(tmp, names=np.array([], dtype=str), directions=np.zeros((0, dim)),
                 counts_with=np.zeros(0, np.int64), counts_without=np.zeros(0, np.int64))
    save_csv(args.plots / "attribute_correlations.csv", ["kind", "index", "attribute", "r"], [])
    save_csv(args.plots / "top_attributes.csv", TOP_COLUMNS, [])
    note = f"No attributes in {args.index}: the dataset has no annotation columns."
    save_figure(args.plots / "attribute_heatmap.png", plots.attribute_note(note, title="Attribute correlations"))
    save_figure(args.plots / "attribute_directions.png", plots.attribute_note(note, title="Attribute directions"))
    save_scores_csv(args.plots / "attribute_directions.csv", DIRECTION_KEYS, [])
    save_scores_csv(args.plots / "judge_scores.csv", ["attribute"], [])
    save_metrics(args.metrics, {"strongest_component_r": None, "judge_mean_balanced_accuracy": None})


if __name__ == "__main__":
    run_stage(main)
