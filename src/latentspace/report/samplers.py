"""Findings on the samplers' vectors: interval widths, near-copies of training vectors, which setting
makes the best new faces and by how much against the noise, and faces drawn with a chosen attribute.

A setting *copies* when more than :data:`COPY_SHARE` of its vectors are near-copies; the best new
faces are the lowest re-encoded Fréchet distance among the settings that do not copy.
"""

from __future__ import annotations

from latentspace.io import InputError
from latentspace.report.inputs import HEADLINE, Settings
from latentspace.report.text import edge_note, fmt, interval, listing, param, param_pct, pct, times
from latentspace.sample_sets import setting_name

# Rules of the findings: stated in the text wherever they decide a sentence.
COPY_SHARE = 0.05        # a sampler setting "copies" when more of its vectors than this are near-copies
INDEPENDENT = ("uniform", "intervals", "gaussian")          # samplers that ignore correlations
CORRELATED = ("normal", "principal_axes", "mixture", "mixture_chosen", "kde", "flow", "vae",  # samplers that
              "diffusion")                                                                # model them


def setting_label(kind: str, entry: dict) -> str:
    """``intervals fact=1.5``: a sampler's best setting as in ``plots/sampling.csv``'s ``setting`` column."""
    name = next((k for k in entry if k not in HEADLINE), "")
    return setting_name(kind, name, entry.get(name))


def samplers_by_frechet(sampling: dict) -> list[tuple[str, dict]]:
    """The samplers of ``metrics/sampling.json`` (not the real baseline), lowest re-encoded Fréchet first."""
    return sorted(((k, e) for k, e in sampling.items() if k != "real"), key=lambda ke: ke[1]["reencoded_frechet"])


def intervals_finding(sampling: dict, rows: list[dict], cfg: Settings) -> str:
    """The best interval width, its share in the core, and what ignoring correlations costs."""
    real = sampling["real"]["reencoded_frechet"]
    text = ""
    if "intervals" in sampling:
        best = sampling["intervals"]
        mine = [r for r in rows if r["sampler"] == "intervals"]
        top = max(mine, key=lambda r: r["in_core"], default=None)
        value = next(v for k, v in best.items() if k not in HEADLINE)
        text = (f"Of the interval widths tried, {setting_label('intervals', best)} comes nearest the held-out vectors "
                f"after a decode and re-encode: Fréchet distance {fmt(best['reencoded_frechet'])}, "
                f"{times(best['reencoded_frechet'] / real)} the real baseline's {fmt(real)}."
                + edge_note(value, {r["value"] for r in mine}, "fact"))
        if top is not None:
            core = (f"the core (Mahalanobis distance within the central {param_pct(cfg.sampler_core_quantile)} "
                    "of the held-out vectors' distances)")
            text += (f" None of the interval vectors lies in {core}." if top["in_core"] == 0 else
                     f" At most {pct(top['in_core'])} of the interval vectors ({top['setting']}) lie in {core}.")
    else:
        text = "The intervals sampler is off (params sample.intervals)."
    independent = [(k, sampling[k]) for k in INDEPENDENT if k in sampling]
    correlated = [(k, sampling[k]) for k in CORRELATED if k in sampling]
    if independent and correlated:
        ind = min(independent, key=lambda ke: ke[1]["reencoded_frechet"])
        cor = min(correlated, key=lambda ke: ke[1]["reencoded_frechet"])
        f_ind, f_cor = ind[1]["reencoded_frechet"], cor[1]["reencoded_frechet"]
        text += (f" Samplers that ignore correlations reach at best {fmt(f_ind)} ({setting_label(*ind)}), samplers "
                 f"that model them {fmt(f_cor)} ({setting_label(*cor)}): "
                 + (f"ignoring correlations costs a factor {fmt(f_ind / f_cor)} in Fréchet distance."
                    if f_ind > f_cor else "here ignoring correlations does not hurt."))
    return text


def neighbours_finding(neighbours: dict, copies: dict) -> str:
    """Whether any sampler setting makes near-copies of training vectors."""
    median, threshold = neighbours["real_nn_median"], neighbours["near_copy_threshold"]
    text = (f"A training vector's nearest other training vector lies {fmt(median)} away (median); a generated "
            f"vector nearer a training vector than {fmt(threshold)} counts as a near-copy.")
    if not copies:
        return text + " No sampler setting was drawn."
    copying = {s: c["near_copy_fraction"] for s, c in copies.items() if c["near_copy_fraction"] > COPY_SHARE}
    named = listing([f"{s} ({pct(f)})" for s, f in sorted(copying.items(), key=lambda sf: -sf[1])]) if copying else ""
    if len(copying) == 1:
        text += (f" Only {named} has more than {param_pct(COPY_SHARE)} near-copies: it makes near-copies of "
                 "training vectors.")
    elif copying:
        text += (f" {len(copying)} settings have more than {param_pct(COPY_SHARE)} near-copies, {named}: they "
                 "make near-copies of training vectors.")
    else:
        worst = max(copies, key=lambda s: copies[s]["near_copy_fraction"])
        text += (f" No setting has more than {param_pct(COPY_SHARE)} near-copies (the most: {worst}, "
                 f"{pct(copies[worst]['near_copy_fraction'])}).")
    closest = min(copies, key=lambda s: copies[s]["ratio_to_real"])
    ratio = copies[closest]["ratio_to_real"]
    return text + (f" The setting whose vectors lie nearest the training vectors is {closest}: median distance "
                   f"{times(ratio)} the training vectors' own" + (", closer than training vectors are to each other."
                                                                  if ratio < 1 else "."))


def setting_row(rows: list[dict], kind: str, entry: dict) -> dict:
    """The ``plots/sampling.csv`` row of a sampler's best setting (``real``: the baseline's)."""
    label = "real" if kind == "real" else setting_label(kind, entry)
    found = [r for r in rows if r["setting"] == label]
    if len(found) != 1:
        raise InputError(f"plots/sampling.csv: no single row for setting {label!r}, the best of sampling.{kind} in "
                         "metrics/sampling.json; re-run evaluate (dvc repro)")
    return found[0]


def new_faces_verdict(winner: str, rows: list[dict], copies: dict, real: float) -> str:
    """If the lowest Fréchet distance belongs to a setting that copies (more than COPY_SHARE of its
    vectors are near-copies), the best setting that does not: the best new faces."""
    share = copies.get(winner, {}).get("near_copy_fraction")
    if share is None or share <= COPY_SHARE:
        return ""
    text = (f" But {pct(share)} of its vectors are near-copies of training vectors (Neighbours above): it "
            "reproduces faces rather than making new ones.")
    top = best_new_faces(rows, copies)
    if top is None:
        return text + f" Every setting makes more than {param_pct(COPY_SHARE)} near-copies."
    return text + (f" The best new faces, among the settings with at most {param_pct(COPY_SHARE)} near-copies, come "
                   f"from {top['setting']}: Fréchet distance {fmt(top['reencoded_frechet'])}, "
                   f"{times(top['reencoded_frechet'] / real)} the real baseline's.")


def makes_new_faces(row: dict, copies: dict) -> bool:
    """Whether a setting's row has at most COPY_SHARE near-copies (``copies``: ``near_copies.csv`` by setting)."""
    return row["setting"] in copies and copies[row["setting"]]["near_copy_fraction"] <= COPY_SHARE


def best_new_faces(rows: list[dict], copies: dict) -> dict | None:
    """The row of ``plots/sampling.csv`` with the lowest re-encoded Fréchet distance among the
    settings that make new faces (:func:`makes_new_faces`)."""
    return min((r for r in rows if makes_new_faces(r, copies)), key=lambda r: r["reencoded_frechet"], default=None)


def lead_verdict(top: dict, rows: list[dict], copies: dict, differences: dict, level: float) -> str:
    """By how much the best new faces (row ``top``) beat the best new faces of every other sampler
    and the real baseline, and which of those differences exceed their paired bootstrap interval
    (``differences``: ``frechet_differences.csv`` as {(setting, versus): row})."""
    name = top["setting"]
    rivals = {}
    for r in rows:  # each other sampler's best setting that does not copy
        if r["sampler"] not in ("real", top["sampler"]) and makes_new_faces(r, copies):
            if r["sampler"] not in rivals or r["reencoded_frechet"] < rivals[r["sampler"]]["reencoded_frechet"]:
                rivals[r["sampler"]] = r
    text = (f" The best new faces' Fréchet distance, {fmt(top['reencoded_frechet'])} for {name}, has the "
            f"{param_pct(level)} bootstrap interval {fmt(top['reencoded_frechet_low'])} to "
            f"{fmt(top['reencoded_frechet_high'])}.")
    ranked = sorted(rivals.values(), key=lambda r: r["reencoded_frechet"])
    if ranked:
        second = ranked[0]
        d = differences[(second["setting"], name)]
        text += (f" The next sampler's best new faces, {second['setting']}, score {fmt(second['reencoded_frechet'])}: "
                 f"{name} leads by {fmt(d['difference'])} {interval(d['low'], d['high'], level)}, "
                 + ("beyond the noise of the two sample sets and the reference."
                    if d["low"] > 0 else "within the noise: these vectors cannot tell the two apart."))
        beaten = [r["setting"] for r in ranked if differences[(r["setting"], name)]["low"] > 0]
        tied = [r["setting"] for r in ranked if differences[(r["setting"], name)]["low"] <= 0]
        text += (f" Of the other samplers' best new faces, {len(beaten)} {'is' if len(beaten) == 1 else 'are'} worse "
                 "beyond the noise"
                 + (f" and {', '.join(tied)} within it." if tied else "."))
    d = differences[(name, "real")]
    text += (f" Against the real baseline the gap is {fmt(d['difference'])} {interval(d['low'], d['high'], level)}: "
             + ("real training vectors still score better beyond the noise." if d["low"] > 0 else
                "within the noise of what real training vectors score."))
    return text


def samplers_finding(sampling: dict, mixture: dict | None, rows: list[dict], copies: dict | None = None,
                     differences: dict | None = None, level: float = 0.9) -> str:
    """Which sampler's re-encoded faces are nearest held-out ones, against the real baseline, which
    setting does best among those that do not copy training vectors (``copies``: the neighbours
    stage's ``near_copies.csv`` by setting), and by how much, against the noise (``differences``:
    ``frechet_differences.csv`` by (setting, versus), with intervals at ``level``)."""
    real = sampling["real"]
    ranked = samplers_by_frechet(sampling)
    if not ranked:
        return "No sampler is on (params sample)."
    (kind, best), rest = ranked[0], ranked[1:]
    ratio = best["reencoded_frechet"] / real["reencoded_frechet"]
    mine, theirs = setting_row(rows, kind, best), setting_row(rows, "real", real)
    text = (f"The lowest re-encoded Fréchet distance comes from {setting_label(kind, best)}: "
            f"{fmt(best['reencoded_frechet'])}, {times(ratio)} the real baseline's {fmt(real['reencoded_frechet'])} "
            f"(training vectors, decoded, re-encoded and compared with the held-out vectors the same way). Its "
            f"precision is {fmt(mine['reencoded_precision'])} and its recall {fmt(mine['reencoded_recall'])}, against "
            f"{fmt(theirs['reencoded_precision'])} and {fmt(theirs['reencoded_recall'])} for the training vectors.")
    text += new_faces_verdict(setting_label(kind, best), rows, copies or {}, real["reencoded_frechet"])
    top = best_new_faces(rows, copies or {})
    if top is not None and differences:
        text += lead_verdict(top, rows, copies, differences, level)
    if rest:
        second, last = rest[0], rest[-1]
        text += (f" Next: {setting_label(*second)} ({fmt(second[1]['reencoded_frechet'])}); farthest: "
                 f"{setting_label(*last)} ({fmt(last[1]['reencoded_frechet'])}).")
    if mixture is not None:
        gap = mixture["overfit_gap"]
        text += (f" The Gaussian mixture with the best held-out fit (k = {param(mixture['k'])}) has a mean "
                 f"log-likelihood of {fmt(mixture['log_likelihood_holdout'])} per held-out vector and "
                 f"{fmt(mixture['log_likelihood_fitted'])} per fitted one: "
                 + (f"it fits its own vectors better by {fmt(gap)}." if gap > 0 else
                    "it fits held-out vectors as well as its own."))
    return text


def conditional_finding(metrics: dict, by: dict) -> str:
    """How often the judge sees the attribute on faces drawn with it, without it, unconditionally and
    on real held-out faces (``by``: attribute -> drawn -> metrics of ``plots/conditional.csv``)."""
    if not by:
        return "No face was drawn with or without an attribute (params conditional.attributes, or no attributes)."
    text = " ".join(
        f"Drawn with {a}, {pct(d['with']['judge_share'])} of the decoded faces show it to the judge, against "
        f"{pct(d['unconditional']['judge_share'])} for the same sampler fitted to every vector and "
        f"{pct(d['without']['judge_share'])} drawn without it (real held-out faces: "
        f"{pct(d['real_with']['judge_share'])} with, {pct(d['real_without']['judge_share'])} without)."
        for a, d in by.items())
    gap, real_gap = metrics["share_gap"], metrics["real_share_gap"]
    if gap is not None and real_gap is not None:
        text += (f" On average the draws' shares differ by {fmt(100 * gap)} points between the classes, real faces' "
                 f"by {fmt(100 * real_gap)}: " + ("the classes' densities separate the faces as well as real data does."
                                                  if gap >= real_gap else
                                                  f"the draws keep {pct(gap / real_gap) if real_gap > 0 else 'n/a'} "
                                                  "of the real separation."))
    accuracy = metrics["judge_mean_balanced_accuracy"]
    if accuracy is not None:
        text += (f" The judge's mean balanced accuracy on decoded training faces is {fmt(accuracy)} (0.5: chance), "
                 "which bounds how far apart any shares can be.")
    return text
