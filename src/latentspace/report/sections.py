"""Building the document: each outline section's finding, key numbers and tables from the inputs.

One ``*_section`` function per section of :data:`latentspace.outline.SECTIONS` (:data:`BUILDERS`)
returns its finding, key numbers and tables; :func:`build_document` adds the figures and puts the
parts in outline order.
"""

from __future__ import annotations

from typing import Callable

from latentspace.outline import SECTIONS, Section
from latentspace.report.document import Curve, Document, Figure, Image, Number, Part, Table
from latentspace.report.findings import (attributes_finding, autoencoder_finding, axes_finding, centre_finding,
                                         components_finding, correlations_finding, normality_finding,
                                         paths_finding)
from latentspace.report.inputs import MIXTURE, QUALITY, Inputs, Settings, is_curve, pivot
from latentspace.report.samplers import (conditional_finding, intervals_finding, neighbours_finding,
                                         samplers_by_frechet, samplers_finding, setting_label, setting_row)
from latentspace.report.text import fmt, param, param_pct


def _numbers(inp: Inputs, stem: str, labels: dict[str, str]) -> tuple[Number, ...]:
    """Key numbers of one metrics file: ``labels`` maps each key to its label."""
    return tuple(Number(label, inp.metrics[stem][key], inp.sources[stem], f"{stem}.{key}")
                 for key, label in labels.items())


def _long_table(inp: Inputs, name: str, key: str, caption: str, key_label: str) -> Table:
    """A long-format table (``key, metric, score``) with one row per key value, one column per metric."""
    wide = pivot(inp.tables[name], key)
    metrics = list(dict.fromkeys(m for scores in wide.values() for m in scores))
    return Table(caption, inp.sources[name], (key_label, *metrics),
                 tuple((param(k), *(scores.get(m) for m in metrics)) for k, scores in wide.items()))


def autoencoder_section(inp: Inputs, cfg: Settings):
    m = inp.metrics
    finding = autoencoder_finding(m["prepare"], m["train"], inp.losses["val"])
    numbers = (_numbers(inp, "prepare", {"n_train": "Training images", "n_holdout": "Held-out images",
                                         "n_skipped": "Unreadable images skipped"})
               + _numbers(inp, "train", {"train_loss": "Final training loss", "val_loss": "Final validation loss",
                                         "psnr_holdout_db": "Held-out PSNR (dB)",
                                         "mean_image_psnr_db": "PSNR of the mean training face (dB)"}))
    curves = (inp.losses["train"], inp.losses["val"])
    epochs = range(1, max(map(len, curves)) + 1)
    table = Table("Loss per epoch", f"{inp.sources['train_loss']}, {inp.sources['val_loss']}",
                  ("epoch", "training loss", "validation loss"),
                  tuple((e, *(c[e - 1] if e <= len(c) else None for c in curves)) for e in epochs))
    return finding, numbers, (table,)


def components_section(inp: Inputs, cfg: Settings):
    by_b = pivot(inp.tables["radius_by_b.csv"], "b")
    numbers = _numbers(inp, "stats", {"n_dominant": "Dominant components", "median_hw": "Median half-width hw",
                                      "radius_mean": "Mean radius of real vectors",
                                      "radius_best_b": "Best b for uniform radii"})
    table = _long_table(inp, "radius_by_b.csv", "b", "Uniform [-b, b] vectors against the real radii", "b")
    return components_finding(inp.metrics["stats"], by_b, cfg), numbers, (table,)


def correlations_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["pairs_above.csv"]
    n_vectors = inp.metrics["prepare"]["n_train"]
    numbers = _numbers(inp, "correlation", {
        "M": "Vectors in the sample M",
        "pairs_above_sample": f"Pairs with |r| > {param(cfg.pair_threshold)} (M-sample)",
        "pairs_above_full": f"Pairs with |r| > {param(cfg.pair_threshold)} (all vectors)",
        "count_error_max": "Largest relative error of the counts", "sample_error_max_abs": "Largest |r_M - r|"})
    table = Table("Pairs above each threshold", inp.sources["pairs_above.csv"],
                  ("|r| above", "M-sample", "all vectors", "relative error"),
                  tuple((param(r["threshold"]), r["sample"], r["full"],
                         abs(r["sample"] - r["full"]) / r["full"] if r["full"] else None) for r in rows))
    return correlations_finding(inp.metrics["correlation"], rows, n_vectors, cfg), numbers, (table,)


def centre_section(inp: Inputs, cfg: Settings):
    uniform_core = pivot(inp.tables["uniform_core.csv"], "b")
    numbers = _numbers(inp, "geometry", {
        "centre_norm": "Distance of the centre from the origin", "origin_mahalanobis": "Origin's Mahalanobis distance",
        "core_radius": f"Core radius ({param_pct(cfg.core_quantile)} of real vectors)",
        "origin_beyond_fraction": "Share of real vectors nearer the centre than the origin"})
    table = _long_table(inp, "uniform_core.csv", "b", "Share of uniform [-b, b] vectors in the core", "b")
    finding = centre_finding(inp.metrics["geometry"], uniform_core, inp.metrics["stats"]["radius_mean"], cfg)
    return finding, numbers, (table,)


def paths_section(inp: Inputs, cfg: Settings):
    return paths_finding(inp.paths), (), ()


def intervals_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["sampling.csv"]
    mine = [r for r in rows if r["sampler"] == "intervals"]
    table = Table("The interval sampler's settings", inp.sources["sampling.csv"],
                  ("setting", "in core", "Fréchet (re-encoded)", "precision", "recall"),
                  tuple((r["setting"], r["in_core"], *(r[k] for k in QUALITY)) for r in mine))
    return intervals_finding(inp.metrics["sampling"], rows, cfg), (), (table,) if mine else ()


def normality_section(inp: Inputs, cfg: Settings):
    numbers = _numbers(inp, "normality", {"component_normal_fraction": "Share of components that pass",
                                          "axis_normal_fraction": "Share of principal axes that pass",
                                          "axis_median_ks": "Median KS distance of an axis"})
    table = _long_table(inp, "normality_summary.csv", "kind", "Normality of components and principal axes", "kind")
    # one column per kind reads better: transpose
    kinds = [row[0] for row in table.rows]
    transposed = Table(table.caption, table.source, ("statistic", *kinds),
                       tuple((metric, *(row[c] for row in table.rows))
                             for c, metric in enumerate(table.header[1:], start=1)))
    return normality_finding(inp.metrics["normality"], cfg, inp.metrics["prepare"]["n_train"]), numbers, (transposed,)


def axes_section(inp: Inputs, cfg: Settings):
    targets = pivot(inp.tables["variance_targets.csv"], "target")
    numbers = _numbers(inp, "geometry", {"top_axis_variance_fraction": "Variance share of the first axis"})
    table = Table("Principal axes needed for a share of the variance", inp.sources["variance_targets.csv"],
                  ("share of the variance", "axes"), tuple((param_pct(t), int(s["axes"])) for t, s in targets.items()))
    return axes_finding(inp.metrics["geometry"], targets, cfg.latent_dim), numbers, (table,)


def attributes_section(inp: Inputs, cfg: Settings):
    top = inp.tables["top_attributes.csv"]
    numbers = _numbers(inp, "attributes", {"strongest_component_r": "Strongest component-attribute r",
                                           "judge_mean_balanced_accuracy": "Judge's mean balanced accuracy"})
    axes = [r for r in top if r["kind"] == "axis"][:5]
    table = Table("The attribute each leading principal axis follows", inp.sources["top_attributes.csv"],
                  ("axis", "attribute", "r"), tuple((r["index"], r["attribute"], r["r"]) for r in axes))
    return attributes_finding(inp.metrics["attributes"], top), numbers, (table,) if axes else ()


def neighbours_section(inp: Inputs, cfg: Settings):
    copies = pivot(inp.tables["near_copies.csv"], "setting")
    numbers = _numbers(inp, "neighbours", {"real_nn_median": "Median distance between nearest training vectors",
                                           "near_copy_threshold": "Near-copy threshold"})
    table = _long_table(inp, "near_copies.csv", "setting", "Nearest training vector of each setting's vectors",
                        "setting")
    return neighbours_finding(inp.metrics["neighbours"], copies), numbers, (table,) if copies else ()


def conditional_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["conditional.csv"]
    by = {}  # attribute -> drawn -> {metric: score}
    for r in rows:
        by.setdefault(r["attribute"], {}).setdefault(r["drawn"], {})[r["metric"]] = r["score"]
    numbers = _numbers(inp, "conditional", {"share_gap": "Judge's share, drawn with minus without (mean)",
                                            "real_share_gap": "Judge's share, real with minus without (mean)",
                                            "frechet": "Fréchet distance of each class's draws (mean)",
                                            "judge_mean_balanced_accuracy": "The judge's balanced accuracy (mean)"})
    drawn = ("with", "unconditional", "without", "real_with", "real_without")
    table = Table("The judge's share of faces showing the attribute, and the Fréchet distance of each class's draws "
                  "to held-out vectors of the class", inp.sources["conditional.csv"],
                  ("attribute", *(f"share: {d.replace('_', ' ')}" for d in drawn), "Fréchet: with", "Fréchet: without"),
                  tuple((a, *(d.get(k, {}).get("judge_share") for k in drawn),
                         d["with"].get("frechet"), d["without"].get("frechet")) for a, d in by.items()))
    return conditional_finding(inp.metrics["conditional"], by), numbers, (table,) if by else ()


def samplers_section(inp: Inputs, cfg: Settings):
    sampling, mixture = inp.metrics["sampling"], inp.metrics["sample"].get(MIXTURE)
    real = sampling["real"]["reencoded_frechet"]
    rows = inp.tables["sampling.csv"]
    level = param_pct(cfg.interval_level)
    best = Table(f"Each sampler's best setting (lowest re-encoded Fréchet distance; its {level} bootstrap interval, "
                 "precision and recall from plots/sampling.csv)", inp.sources["sampling"],
                 ("sampler", "best setting", "Fréchet", f"{level} interval", "× real", "precision", "recall"),
                 tuple((k, setting_label(k, e), e["reencoded_frechet"],
                        f"{fmt(r['reencoded_frechet_low'])} to {fmt(r['reencoded_frechet_high'])}",
                        e["reencoded_frechet"] / real, r["reencoded_precision"], r["reencoded_recall"])
                       for k, e in [("real", sampling["real"]), *samplers_by_frechet(sampling)]
                       for r in [setting_row(rows, k, e)]))
    extra = ["fid"] if rows and "fid" in rows[0] else []
    every = Table(f"Every setting (in core: Mahalanobis distance within the central "
                  f"{param_pct(cfg.sampler_core_quantile)} of the held-out vectors')",
                  inp.sources["sampling.csv"],
                  ("setting", "in core", "Fréchet (latent)", "Fréchet (re-encoded)", "precision", "recall", *extra),
                  tuple((r["setting"], r["in_core"], r["latent_frechet"], *(r[k] for k in QUALITY),
                         *(float(r[k]) if r[k] else None for k in extra)) for r in rows))
    tables = (best, every)
    if inp.tables["density_fit.csv"]:
        tables += (_long_table(inp, "density_fit.csv", "setting",
                               "Densities fitted ex post: mean log-likelihood per vector (nats) of the vectors fitted to and of held-out ones", "setting"),)
    shown = [("real", sampling["real"]), *samplers_by_frechet(sampling)[:1]]  # the baseline and the winner
    numbers = tuple(Number(f"Re-encoded Fréchet distance, {setting_label(kind, e)}", e["reencoded_frechet"],
                           inp.sources["sampling"], f"sampling.{kind}.reencoded_frechet") for kind, e in shown)
    if mixture is not None:
        numbers += tuple(Number(label, mixture[key], inp.sources["sample"], f"sample.{MIXTURE}.{key}") for key, label in
                         (("k", "Mixture components k"),
                          ("log_likelihood_holdout", "Mixture held-out log-likelihood (mean per vector)"),
                          ("overfit_gap", "Mixture overfit gap")))
    copies = pivot(inp.tables["near_copies.csv"], "setting")
    differences = {(r["setting"], r["versus"]): r for r in inp.tables["frechet_differences.csv"]}
    return (samplers_finding(sampling, mixture, rows, copies, differences, cfg.interval_level), numbers, tables)


BUILDERS: dict[str, Callable] = {
    "autoencoder": autoencoder_section, "components": components_section, "correlations": correlations_section,
    "centre": centre_section, "paths": paths_section, "intervals": intervals_section,
    "normality": normality_section, "axes": axes_section, "attributes": attributes_section,
    "neighbours": neighbours_section, "samplers": samplers_section, "conditional": conditional_section,
}


def figures(section: Section, images: dict) -> tuple[Figure, ...]:
    """The section's plots in outline order: each image, each folder's images, each curve's pointer."""
    out: list[Figure] = []
    for plot in section.plots:
        if is_curve(plot):
            out.append(Curve(plot))
        else:
            files = images[plot]
            out += [Image(plot if plot.endswith(".png") else f"{plot}/{f.name}", f) for f in files]
    return tuple(out)


def build_document(inp: Inputs, cfg: Settings) -> Document:
    """The report of every outline section, in order.

    Parameters
    ----------
    inp : Inputs
        What :func:`read_inputs` read.
    cfg : Settings
        The params the findings quote.

    Returns
    -------
    doc : Document
        One :class:`Part` per section of :data:`latentspace.outline.SECTIONS`, in order.

    Raises
    ------
    KeyError
        A section of the outline has no builder in :data:`BUILDERS` (add one with its finding).
    """
    parts = []
    for section in SECTIONS:
        finding, numbers, tables = BUILDERS[section.key](inp, cfg)
        parts.append(Part(section, finding, tuple(numbers), tuple(tables), figures(section, inp.images)))
    preface = ("Generated by the `report` stage (`stages/report.py`) from `metrics/`, `plots/` and `dvclive/`: every "
               "number is read from those files and every finding is written from them by a rule in "
               "`src/latentspace/report/`. Do not edit by hand; run `dvc repro report`. Curves are drawn by "
               "`dvc plots show` (interactive, and `dvc plots diff` compares revisions).")
    return Document("The latent space of a face autoencoder: report", preface, tuple(parts))
