"""Findings on the autoencoder and its latent cloud: one function per section, numbers in, text out.

Each finding is written from the numbers by rules, so it stays true when the numbers change; the
thresholds that decide a sentence are the constants below, and the text states them.
"""

from __future__ import annotations

import math

from latentspace.report.inputs import Settings, is_number
from latentspace.report.text import edge_note, fmt, listing, param, param_pct, pct, times

# Rules of the findings: stated in the text wherever they decide a sentence.
COUNT_TOLERANCE = 0.05   # M-sample pair counts "agree" with the exact ones within this share
OVERFIT_MARGIN = 0.10    # held-out loss above (1 + margin) x training loss: the model overfits
SERIES_B_RANGE = (1.0, 2.0)   # part II: uniform [-b, b] vectors have about the right length for b here


def autoencoder_finding(prepare: dict, train: dict, val_losses: list[float]) -> str:
    """Data sizes, held-out PSNR, the validation curve's trend and the gap between the two losses."""
    skipped = prepare["n_skipped"]
    text = (f"The autoencoder trained on {prepare['n_train']} images; {prepare['n_holdout']} more are held out"
            f"{'' if not skipped else f' ({skipped} unreadable images were skipped)'}. "
            f"It reconstructs held-out faces with a PSNR of {fmt(train['psnr_holdout_db'])} dB, against "
            f"{fmt(train['mean_image_psnr_db'])} dB for the trivial model that answers every face with the mean "
            f"training face" + (": it learned something." if train["psnr_holdout_db"] > train["mean_image_psnr_db"]
                                else ": it learned nothing, and every later section describes noise."))
    if len(val_losses) >= 2:
        first, last, before = val_losses[0], val_losses[-1], val_losses[-2]
        text += (f" Over {len(val_losses)} epochs the fit's validation loss went from {fmt(first)} to {fmt(last)}"
                 + (f"; it still fell in the last epoch (from {fmt(before)}), so more epochs would likely "
                    "lower it further." if last < before else f"; it did not fall in the last epoch "
                                                               f"(from {fmt(before)})."))
    ratio = train["val_loss"] / train["train_loss"] if train["train_loss"] > 0 else math.inf
    verdict = ("no sign of overfitting" if ratio <= 1 + OVERFIT_MARGIN else
               "the model fits its training images better than held-out ones")
    return text + (f" The saved model's held-out loss (BatchNorm recalibrated) is {times(ratio)} the last "
                   f"training loss ({fmt(train['val_loss'])} "
                   f"against {fmt(train['train_loss'])}): {verdict} (the rule: at most {1 + OVERFIT_MARGIN:g}×).")


def components_finding(stats: dict, by_b: dict, cfg: Settings) -> str:
    """Dominant components, and which uniform [-b, b] box has the real vectors' lengths."""
    text = (f"{stats['n_dominant']} of the {cfg.latent_dim} components ({pct(stats['n_dominant'] / cfg.latent_dim)}) "
            f"are dominant: their half-width is at least {param(cfg.hw_factor)}× the median half-width "
            f"{fmt(stats['median_hw'])}, or their peak lies at least {param(cfg.mu_factor)}× the median half-width "
            f"from 0. "
            f"Real vectors are {fmt(stats['radius_mean'])} long on average.")
    best = stats["radius_best_b"]
    if best not in by_b:
        return text
    tried = sorted(by_b)
    ranked = sorted(tried, key=lambda b: by_b[b]["radius_distance"])
    ratio = by_b[best]["uniform_radius_ratio"]
    runner_up = (f"; next b = {param(ranked[1])} at {fmt(by_b[ranked[1]]['radius_distance'])}"
                 if len(ranked) > 1 else "")
    text += (f" Of the uniform [-b, b] vectors tried (b = {', '.join(map(param, tried))}), b = {param(best)} has the "
             f"radius distribution nearest the real one (Wasserstein distance {fmt(by_b[best]['radius_distance'])}"
             f"{runner_up}). Its vectors are {times(ratio)} as long as real ones (RMS over mean length)")
    if ratio > 0:  # the uniform RMS length grows linearly with b, so the lengths match at best / ratio
        text += f", so the lengths would match at b = {fmt(best / ratio)}"
    low, high = SERIES_B_RANGE
    inside = low <= best <= high
    text += (f"; b = {param(best)} is {'inside' if inside else 'outside'} the series' range "
             f"{param(low)} ≤ b ≤ {param(high)}.")
    return text + edge_note(best, tried, "b")


def correlations_finding(corr: dict, pairs: list[dict], n_vectors: int, cfg: Settings) -> str:
    """Pairs above the threshold, and whether the M-sample counts agree with the exact ones."""
    total = cfg.latent_dim * (cfg.latent_dim - 1) // 2
    text = (f"With M = {corr['M']} of the {n_vectors} training vectors, {corr['pairs_above_sample']} pairs of "
            f"components have |r| > {param(cfg.pair_threshold)}; the exact correlation of all vectors counts "
            f"{corr['pairs_above_full']} ({pct(corr['pairs_above_full'] / total)} of the {total} pairs).")
    if corr["M"] >= n_vectors:
        text += " M is not below the number of vectors, so the sample is all of them."
    error = corr["count_error_max"]
    thresholds = [r["threshold"] for r in pairs if r["full"] > 0]  # where a relative error is defined
    span = f" from {param(min(thresholds))} to {param(max(thresholds))}" if thresholds else ""
    if error <= COUNT_TOLERANCE:
        text += (f" At every threshold{span} the M-sample counts are within {param_pct(COUNT_TOLERANCE)} of the exact "
                 f"counts (largest relative error {pct(error)}): M = {corr['M']} vectors suffice to count pairs.")
    else:
        counted = [r for r in pairs if r["full"] > 0]
        worst = max(counted, key=lambda r: abs(r["sample"] - r["full"]) / r["full"], default=None)
        where = f" at |r| > {param(worst['threshold'])}" if worst else ""
        text += (f" The M-sample counts miss the exact ones by more than {param_pct(COUNT_TOLERANCE)}: by up to "
                 f"{pct(error)}{where}. M = {corr['M']} vectors are too few to count pairs reliably.")
    return text + (" A single coefficient of the M-sample differs from the exact one by at most "
                   f"{fmt(corr['sample_error_max_abs'])}.")


def centre_finding(geometry: dict, uniform_core: dict, radius_mean: float, cfg: Settings) -> str:
    """Whether the origin lies inside the core, and where uniform vectors land."""
    om, core = geometry["origin_mahalanobis"], geometry["core_radius"]
    beyond = geometry["origin_beyond_fraction"]
    text = (f"The cloud's centre lies {fmt(geometry['centre_norm'])} from the origin (real vectors are "
            f"{fmt(radius_mean)} long on average). In the cloud's own spread the origin is at Mahalanobis distance "
            f"{fmt(om)}, {times(om / core)} the core radius {fmt(core)} (the distance within which "
            f"{param_pct(cfg.core_quantile)} of the real vectors lie): the origin lies "
            f"{'outside' if om > core else 'inside'} the core.")
    if beyond >= 1.0:
        text += " Every real vector is nearer the centre than the origin is: the origin lies beyond the cloud's edge."
    else:
        text += f" {pct(beyond)} of the real vectors are nearer the centre than the origin is."
    if uniform_core:
        shares = {b: s["in_core"] for b, s in uniform_core.items()}
        if max(shares.values()) == 0:
            text += f" No uniform [-b, b] vector (b = {', '.join(map(param, shares))}) lands in the core."
        else:
            best = max(shares, key=shares.get)
            text += (f" Of the uniform [-b, b] vectors, b = {param(best)} puts the most in the core: "
                     f"{pct(shares[best])}.")
    return text


def paths_finding(paths: dict) -> str:
    """What the strips show; this part has no metric."""
    kinds: dict[str, list] = {}
    for p in paths["paths"]:
        kinds.setdefault(p["kind"], []).append(p)
    names = {"principal_axes": "principal axes", "dominant_components": "dominant components",
             "interpolation": "straight lines between two real vectors"}
    parts = [f"{len(v)} along {names.get(k, k.replace('_', ' '))}" for k, v in kinds.items()]
    steps = sorted({len(p["t"]) for p in paths["paths"]})
    extent = paths.get("extent")
    if not parts:
        return "No path was drawn (params paths)."
    return (f"{sum(map(len, kinds.values()))} strips of decoded faces: {listing(parts)}"
            + (f"; walks from the centre reach ±{param(extent)} standard deviations of the cloud along their "
               "direction" if is_number(extent) else "")
            + f", {'/'.join(map(str, steps))} faces per strip. This part has no metric: judge the faces by eye.")


def normality_finding(normality: dict, cfg: Settings, n_vectors: int) -> str:
    """The shares of components and principal axes that pass the normality test, on the
    ``normality.test_size`` vectors drawn, or on all ``n_vectors`` where there are fewer."""
    comp, axis = normality["component_normal_fraction"], normality["axis_normal_fraction"]
    tested = min(cfg.test_size, n_vectors)
    text = (f"At alpha = {param(cfg.alpha)} on {tested} vectors, {pct(comp)} of the components and {pct(axis)} "
            f"of the principal axes pass D'Agostino-Pearson's normality test.")
    if comp >= 0.5 and axis >= 0.5:
        text += " Most pass: the cloud is consistent with a multivariate normal."
    elif comp < 0.5 and axis < 0.5:
        text += (" Most fail: the cloud is not exactly a multivariate normal; the KS distances say how far each "
                 f"is from one (median over the axes {fmt(normality['axis_median_ks'])}).")
    else:
        text += f" Most {'components' if comp >= 0.5 else 'principal axes'} pass, most of the others fail."
    return text


def axes_finding(geometry: dict, targets: dict, latent_dim: int) -> str:
    """How many principal axes explain the variance targets."""
    text = f"The first principal axis carries {pct(geometry['top_axis_variance_fraction'])} of the variance."
    for target, scores in sorted(targets.items()):
        n = int(scores["axes"])
        text += f" {n} of the {latent_dim} axes ({pct(n / latent_dim)}) explain {param_pct(target)} of it."
    return text


def attributes_finding(attributes: dict, top: list[dict]) -> str:
    """Which attribute the strongest component (and the first axis) follows; the judge's accuracy."""
    components = [r for r in top if r["kind"] == "component"]
    r = attributes["strongest_component_r"]
    if not components or r is None:
        text = "No attribute was correlated with the components (no attributes in the index)."
    else:
        row = min(components, key=lambda row: abs(row["r"] - r))  # the component the metric is about
        text = (f"The component most tied to an attribute is z[{row['index']}]"
                f"{' (a dominant one)' if row['dominant'] == '1' else ''}: it follows {row['attribute']} with "
                f"r = {fmt(r)}, so the attribute explains {pct(r * r)} of its variance.")
        first = next((a for a in top if a["kind"] == "axis" and a["index"] == 1), None)
        if first is not None:
            text += f" The first principal axis follows {first['attribute']} (r = {fmt(first['r'])})."
    judge = attributes["judge_mean_balanced_accuracy"]
    if judge is None:
        return text + " No attribute direction was judged."
    return text + (f" A pixel classifier fitted on decoded faces recognises the binary attributes in other decoded "
                   f"faces with a mean balanced accuracy of {fmt(judge)} (chance: 0.5).")
