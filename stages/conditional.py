"""Stage `conditional`: faces with or without a chosen attribute. A registered sampler is fitted
separately to the training vectors that have the attribute and to those that lack it; the pixel
judge of the attributes stage says how often the decoded draws show the attribute (beside the same
sampler fitted to all vectors, and real held-out faces of each class), and the draws of each class
are scored against held-out vectors of that class (precision, recall, density, coverage, Fréchet)."""

import argparse
import warnings
from pathlib import Path

import numpy as np

from latentspace import attributes, conditional, evaluation, plots
from latentspace.conditional_plots import AttributePanel, conditional_faces
from latentspace.io import check_latent_dim, load_latents, require_file, run_stage, save_figure, save_metrics, save_scores_csv
from latentspace.params import load_params, warn_switched_off

KEYS = ("attribute", "drawn")  # plots/conditional.csv: attribute, drawn, metric, score


def drawable(chosen: list[str], labels: np.ndarray) -> list[str]:
    """The chosen attributes whose two classes each hold the 2 training vectors a cloud needs;
    the others are left out with a warning. ``labels``: (n_vectors, len(chosen)) bool."""
    counts = labels.sum(axis=0)
    short = [a for a, c in zip(chosen, counts) if min(c, len(labels) - c) < 2]
    if short:
        warnings.warn(f"conditional.attributes: {short} have fewer than 2 training vectors with or without them: "
                      "no sampler can be fitted to that class, so they are left out", stacklevel=2)
    return [a for a in chosen if a not in short]


def class_quality(p: dict, reference: np.ndarray, draws: np.ndarray, what: str) -> dict:
    """``set_quality`` of ``draws`` against held-out vectors of their class; empty (with a warning)
    where the class has too few held-out vectors for the k-NN balls."""
    k = max(p["k_precision"], p["k_density"])
    if len(reference) <= k:
        warnings.warn(f"conditional: only {len(reference)} held-out vectors {what}: the quality of the draws {what} "
                      f"needs more than k = {k} (conditional.k_precision, k_density); not scored", stacklevel=2)
        return {}
    return evaluation.set_quality(reference, draws, k_precision=p["k_precision"], k_density=p["k_density"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True, help="training vectors the samplers are fitted to")
    parser.add_argument("--z-holdout", required=True, help="held-out vectors: the reference of each class")
    parser.add_argument("--index", required=True, help="data/index.csv: the attributes of every image")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    args = parser.parse_args()
    params = load_params(args.params)
    p, bin_width = params["conditional"], params["stats"]["bin_width"]
    warn_switched_off("conditional", p)

    z = load_latents(args.z)
    z_holdout = np.asarray(load_latents(args.z_holdout, mmap=False), dtype=np.float32)
    check_latent_dim(args.z_holdout, z_holdout, z.shape[1], expected_by=f"every vector of {args.z}")
    ann = attributes.read_annotations(require_file(args.index, "the prepare stage"), len(z))
    chosen = attributes.chosen_binary(p["attributes"], "conditional.attributes", ann, args.index, "no face is drawn")
    require_file(args.model, "the train stage")
    names = drawable(chosen, ann.labels(chosen))
    if not names:
        write_empty(args, "conditional.attributes is empty" if not p["attributes"] else
                    f"{args.index} has no binary attributes" if not chosen else "no attribute has two classes")
        return
    labels, held = ann.labels(names), conditional.holdout_labels(args.index, names, len(z_holdout))

    # the samplers first (NumPy): a sampler that refuses a class stops the stage before Keras loads
    draws = {a: conditional.class_draws(p["sampler"], p["value"], z, labels[:, k], attribute=a, seed=p["seed"],
                                        n=p["n"], bin_width=bin_width) for k, a in enumerate(names)}
    sampler = conditional.make_sampler(p["sampler"], p["value"])
    unconditional = conditional.fit_and_draw(
        sampler, conditional.subset_cloud(z, np.arange(len(z)), bin_width=bin_width),
        conditional.draw_rng(p["seed"], sampler, "", conditional.UNCONDITIONAL), p["n"], vectors="(all of them)")
    held_rows = [conditional.class_rows(held[:, k]) for k in range(len(names))]  # held-out rows of each class
    qualities = {a: {drawn: class_quality(p, z_holdout[held_rows[k][drawn]], draws[a][drawn], f"{drawn} {a}")
                     for drawn in conditional.CLASSES} for k, a in enumerate(names)}

    shares, judged, faces = judge_draws(args, p, z, z_holdout, names, labels, held_rows, draws, unconditional)
    # the vectors behind each set: the training vectors fitted to, the held-out vectors judged
    counts = {a: {**{drawn: len(rows) for drawn, rows in conditional.class_rows(labels[:, k]).items()},
                  conditional.UNCONDITIONAL: len(z),
                  **{conditional.REAL[drawn]: len(rows) for drawn, rows in held_rows[k].items()}}
              for k, a in enumerate(names)}
    save_scores_csv(args.plots / "conditional.csv", KEYS, conditional.score_rows(shares, qualities, counts))
    save_figure(args.plots / "conditional.png", conditional_faces(
        [AttributePanel(a, faces[a], shares[a]) for a in names], sampler=sampler.label))
    save_metrics(args.metrics, conditional.headline(shares, qualities, judged))


def judge_draws(args, p: dict, z, z_holdout, names: list[str], labels, held_rows: list, draws: dict, unconditional):
    """Fit the pixel judge on decoded training vectors, then decode and judge every set.

    Returns
    -------
    shares : dict of attribute -> dict of drawn -> float
    judged : dict of attribute -> the judge's balanced accuracy on its held-aside test vectors
    faces : dict of attribute -> dict of "with" / "without" -> the first ``faces`` decoded draws
    """
    # Keras takes seconds to import; only this step decodes.
    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    decoder = load_part(args.model, "decoder")
    check_latent_dim(args.z, z, decoder.input_shape[-1])

    def decode(vectors, rows=None):
        return predict_in_batches(decoder, vectors, p["batch_size"], rows=rows)

    n_fit, n_test = attributes.judge_sizes(p["judge"]["n_train"], p["judge"]["n_test"], len(z),
                                           key="conditional.judge")
    rows = np.random.default_rng(p["seed"]).choice(len(z), n_fit + n_test, replace=False)
    fit_rows, test_rows = np.sort(rows[:n_fit]), np.sort(rows[n_fit:])  # sorted: memmap reads in order
    judge = attributes.fit_judge(decode(z, fit_rows), labels[fit_rows], names, seed=p["seed"])
    scores = attributes.judge_scores(judge, decode(z, test_rows), labels[test_rows])

    holdout_images, unconditional_images = decode(z_holdout), decode(unconditional)
    shares, faces = {}, {}
    for k, a in enumerate(names):
        images = {drawn: decode(draws[a][drawn]) for drawn in conditional.CLASSES}
        faces[a] = {drawn: im[: p["faces"]] for drawn, im in images.items()}
        shares[a] = {**{drawn: conditional.judge_share(judge, im, a) for drawn, im in images.items()},
                     conditional.UNCONDITIONAL: conditional.judge_share(judge, unconditional_images, a),
                     **{conditional.REAL[drawn]: conditional.judge_share(judge, holdout_images[rows], a)
                        for drawn, rows in held_rows[k].items()}}
    return shares, {a: scores[a]["balanced_accuracy"] for a in names}, faces


def write_empty(args, why: str) -> None:
    """Empty-but-valid outputs when no attribute is drawn."""
    save_scores_csv(args.plots / "conditional.csv", KEYS, [])
    save_figure(args.plots / "conditional.png", plots.attribute_note(
        f"No face drawn with or without an attribute: {why}.", title="Faces drawn with and without an attribute"))
    save_metrics(args.metrics, conditional.headline({}, {}, {}))  # the same keys, None


if __name__ == "__main__":
    run_stage(main)
