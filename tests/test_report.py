"""The generated report: numbers read from the outputs, findings that follow them, two renderings.

Every test builds a small fake metrics/ + plots/ + dvclive/ tree in tmp_path (no pipeline run,
no Keras): :func:`write_tree` writes it from dicts, and its keyword arguments change one file.
"""

import base64
import copy
import csv
import html
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

from latentspace import report
from latentspace.io import InputError
from latentspace.outline import SECTIONS

REPO = Path(__file__).resolve().parents[1]

SETTINGS = report.Settings(latent_dim=16, hw_factor=1.5, mu_factor=1.0, pair_threshold=0.5, core_quantile=0.9,
                           alpha=0.01, test_size=500, sampler_core_quantile=0.99, interval_level=0.9)

METRICS = {
    "prepare": {"n_train": 900, "n_holdout": 100, "n_skipped": 2},
    "train": {"mean_image_psnr_db": 15.5, "train_loss": 0.0031, "val_loss": 0.0029, "psnr_holdout_db": 25.4321},
    "stats": {"n_dominant": 3, "median_hw": 0.75, "radius_mean": 6.2, "radius_best_b": 1.5},
    "correlation": {"M": 500, "pairs_above_sample": 11, "pairs_above_full": 12, "count_error_max": 0.0123,
                    "sample_error_max_abs": 0.0712},
    "geometry": {"centre_norm": 3.21, "origin_mahalanobis": 9.87, "origin_beyond_fraction": 0.97,
                 "core_radius": 5.43, "top_axis_variance_fraction": 0.31},
    "normality": {"component_normal_fraction": 0.1875, "axis_normal_fraction": 0.0625, "axis_median_ks": 0.0234},
    "attributes": {"strongest_component_r": -0.6543, "judge_mean_balanced_accuracy": 0.7123},
    "neighbours": {"real_nn_median": 2.345, "near_copy_threshold": 1.234},
    "conditional": {"share_gap": 0.3, "real_share_gap": 0.5, "frechet": 4.5, "judge_mean_balanced_accuracy": 0.8},
    "sample": {"best_mixture": {"k": 4, "log_likelihood_fitted": -10.5, "log_likelihood_holdout": -12.25,
                                "overfit_gap": 1.75}},
}

# plots/sampling.csv: setting, sampler, param, value, in_core, latent_frechet, reencoded_{frechet, precision, recall}
SAMPLING_ROWS = [
    ("real", "real", "", None, 0.98, 1.1, 2.0, 0.9, 0.8),
    ("uniform b=1", "uniform", "b", 1.0, 0.0, 90.0, 80.0, 0.5, 0.01),
    ("uniform b=1.5", "uniform", "b", 1.5, 0.0, 95.0, 70.0, 0.4, 0.02),
    ("intervals fact=1", "intervals", "fact", 1.0, 0.0, 60.0, 50.0, 0.9, 0.05),
    ("intervals fact=2", "intervals", "fact", 2.0, 0.02, 65.0, 40.0, 0.8, 0.1),
    ("normal scale=1", "normal", "scale", 1.0, 1.0, 1.5, 4.0, 0.7, 0.6),
    ("mixture k=4", "mixture", "k", 4, 1.0, 1.3, 3.0, 0.8, 0.7),
]
SAMPLING_COLUMNS = ("setting", "sampler", "param", "value", "in_core", "latent_frechet", "reencoded_frechet",
                    "reencoded_precision", "reencoded_recall")
NEAR_COPIES = {  # setting -> (nn_median, ratio_to_real, near_copy_fraction)
    "uniform b=1": (5.0, 2.13, 0.0), "intervals fact=2": (2.1, 0.9, 0.01), "mixture k=4": (2.5, 1.07, 0.03)}
PAIRS = [(0.1, 60, 61), (0.3, 30, 30), (0.5, 11, 12)]
CONDITIONAL_SHARES = {"with": 0.4, "without": 0.1, "unconditional": 0.2, "real_with": 0.6, "real_without": 0.1}


def best_per_sampler(rows) -> dict:
    """metrics/sampling.json from the sampling rows, as the evaluate stage writes it."""
    best = {}
    for setting, sampler, name, value, _, _, frechet, precision, recall in rows:
        if sampler not in best or frechet < best[sampler]["reencoded_frechet"]:
            best[sampler] = {**({name: value} if name else {}), "reencoded_frechet": frechet}
    return best


def write_csv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def tiny_png(path: Path, colour) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 3), colour).save(path, format="PNG")


def write_tree(root: Path, *, metrics=None, sampling_rows=SAMPLING_ROWS, pairs=PAIRS, near_copies=NEAR_COPIES,
               uniform_core=None) -> Path:
    """A complete fake metrics/, plots/ and dvclive/ under ``root``; returns ``root``."""
    metrics = copy.deepcopy(METRICS if metrics is None else metrics)
    metrics.setdefault("sampling", best_per_sampler(sampling_rows))
    for stem, numbers in metrics.items():
        (root / "metrics").mkdir(parents=True, exist_ok=True)
        (root / "metrics" / f"{stem}.json").write_text(json.dumps({stem: numbers}, indent=2))
    plots = root / "plots"
    # every interval 0.5 either side; a difference's interval 0.5 + 20% of it either side
    write_csv(plots / "sampling.csv", (*SAMPLING_COLUMNS, "reencoded_frechet_low", "reencoded_frechet_high"),
              [(*r, r[6] - 0.5, r[6] + 0.5) for r in sampling_rows])
    write_csv(plots / "frechet_differences.csv", ("setting", "versus", "difference", "low", "high"),
              [(a[0], b[0], d, d - 0.5 - 0.2 * abs(d), d + 0.5 + 0.2 * abs(d)) for a in sampling_rows
               for b in sampling_rows if a is not b for d in [a[6] - b[6]]])
    keys = {row[0]: row[:4] for row in sampling_rows}
    write_csv(plots / "near_copies.csv", ("setting", "sampler", "param", "value", "metric", "score"),
              [(*keys[s], m, v) for s, values in near_copies.items()
               for m, v in zip(("nn_median", "ratio_to_real", "near_copy_fraction"), values)])
    mixture = metrics["sample"].get("best_mixture")
    fit = {} if mixture is None else {**{m: mixture[m] for m in report.MIXTURE_KEYS[1:]}, "converged": 1}
    write_csv(plots / "density_fit.csv", ("setting", "sampler", "param", "value", "metric", "score"),
              [(f"mixture k={mixture['k']}", "mixture", "k", mixture["k"], m, v) for m, v in fit.items()])
    write_csv(plots / "radius_by_b.csv", ("b", "metric", "score"),
              [(b, m, v) for b, ratio, distance in ((1.0, 0.8, 2.5), (1.5, 1.2, 1.1), (2.0, 1.6, 3.0))
               for m, v in (("uniform_radius_ratio", ratio), ("radius_distance", distance))])
    write_csv(plots / "uniform_core.csv", ("b", "metric", "score"),
              [(b, "in_core", share) for b, share in (uniform_core or {1.0: 0.0, 2.0: 0.0}).items()])
    write_csv(plots / "variance_targets.csv", ("target", "metric", "score"), [(0.9, "axes", 7), (0.99, "axes", 13)])
    write_csv(plots / "normality_summary.csv", ("kind", "metric", "score"),
              [("component", "normal_fraction", 0.1875), ("component", "median_ks_distance", 0.03),
               ("axis", "normal_fraction", 0.0625), ("axis", "median_ks_distance", 0.0234)])
    write_csv(plots / "pairs_above.csv", ("threshold", "sample", "full"), pairs)
    write_csv(plots / "conditional.csv", ("attribute", "drawn", "metric", "score"),
              [("Eyeglasses", drawn, metric, score) for drawn, share in CONDITIONAL_SHARES.items()
               for metric, score in (("judge_share", share), *((("frechet", 4.5),) if drawn in ("with", "without")
                                                               else ()))])
    write_csv(plots / "top_attributes.csv", ("kind", "index", "dominant", "attribute", "r", "second_attribute", "r2"),
              [("component", 5, 1, "bg_value", 0.41, "hair", 0.1), ("component", 9, 0, "skin_tone", -0.6543, "x", 0.1),
               ("axis", 1, "", "hair_darkness", 0.52, "x", 0.1), ("axis", 2, "", "bg_hue", -0.33, "x", 0.1)])
    (plots / "paths.json").write_text(json.dumps({"extent": 3.0, "paths": [
        {"kind": "principal_axes", "t": [-1, 0, 1]}, {"kind": "interpolation", "t": [0, 0.5, 1]}]}))
    for k, plot in enumerate(p for s in SECTIONS for p in s.plots if not report.is_curve(p)):
        if plot.endswith(".png"):
            tiny_png(root / plot, (10 * k, 0, 0))
        else:  # a folder: two images in reverse name order, and a file that is not an image
            tiny_png(root / plot / "uniform_b_01.50.png", (0, 10 * k, 0))
            tiny_png(root / plot / "intervals_fact_01.00.png", (0, 0, 10 * k))
            (root / plot / "notes.json").write_text("{}")
    for name, losses in (("train", (0.02, 0.006, 0.0031)), ("val", (0.03, 0.004, 0.0029))):
        path = root / "dvclive" / "plots" / "metrics" / name / "loss.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("step\tloss\n" + "".join(f"{k}\t{v}\n" for k, v in enumerate(losses)))
    return root


def build(root: Path):
    """(document, markdown, html) of the tree under ``root``, the report going to root/report."""
    inputs, png = report.read_inputs(root / "metrics", root / "plots", root / "dvclive")
    doc = report.build_document(inputs, SETTINGS)
    return doc, report.render_markdown(doc, root / "report"), report.render_html(doc, png)


def finding(doc: report.Document, key: str) -> str:
    return next(p.finding for p in doc.parts if p.section.key == key)


def with_metrics(**changes) -> dict:
    """METRICS with ``stem={key: value}`` changes merged in."""
    metrics = copy.deepcopy(METRICS)
    for stem, numbers in changes.items():
        metrics[stem].update(numbers)
    return metrics


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path)


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("value, text", [
    (10200, "10200"), (0, "0"), (0.0, "0"), (0.0021296, "0.00213"), (4.0511, "4.05"), (160.62, "161"),
    (1.0, "1.00"), (9.996, "10.0"), (-0.7381, "-0.738"), (23970.4, "24000"), (None, "n/a"), (0.5, "0.500")])
def test_fmt_gives_three_significant_digits_without_exponents(value, text):
    assert report.fmt(value) == text


def test_percentages_and_params():
    assert (report.pct(0.07422), report.pct(1.0), report.pct(0.0)) == ("7.42%", "100%", "0%")
    assert (report.param_pct(0.9), report.param_pct(0.05)) == ("90%", "5%")
    assert (report.param(1.5), report.param(10), report.param("axis")) == ("1.5", "10", "axis")


KEY_ROW_MD = re.compile(r"^\| (?P<label>.+?) \| (?P<value>[^|]+?) \| `(?P<source>[^`]+)` `(?P<key>[^`]+)` \|$", re.M)
KEY_ROW_HTML = re.compile(r'<tr><td>(?P<label>[^<]*)</td><td class="n">(?P<value>[^<]*)</td><td>(?P<source>[^<:]+): '
                          r"(?P<key>[^<]+)</td></tr>")


@pytest.mark.parametrize("rendering", ["markdown", "html"])
def test_every_key_number_is_the_metrics_file_value(tree, rendering):
    _, markdown, html_text = build(tree)
    rows = list((KEY_ROW_MD if rendering == "markdown" else KEY_ROW_HTML).finditer(
        markdown if rendering == "markdown" else html_text))
    shown = {(Path(r["source"]).stem, r["key"].split(".", 1)[1]) for r in rows}
    # every headline number of every metrics file is shown ...
    assert {(stem, key) for stem, keys in report.METRIC_KEYS.items() for key in keys} <= shown
    for row in rows:  # ... and each is the file's value, as the formatter writes it
        value = json.loads(Path(row["source"]).read_text())
        for part in row["key"].split("."):
            value = value[part]
        assert row["value"] == report.fmt(value), row.group(0)


def test_findings_quote_the_metrics(tree):
    doc, markdown, _ = build(tree)
    m = METRICS
    assert f"PSNR of {report.fmt(m['train']['psnr_holdout_db'])} dB" in finding(doc, "autoencoder")
    assert "2 unreadable images were skipped" in finding(doc, "autoencoder")
    assert f"core radius {report.fmt(m['geometry']['core_radius'])}" in finding(doc, "centre")
    assert "7 of the 16 axes (43.8%) explain 90% of it" in finding(doc, "axes")
    assert "18.8% of the components and 6.25% of the principal axes pass" in finding(doc, "normality")
    assert "z[9]" in finding(doc, "attributes") and "skin_tone with r = -0.654" in finding(doc, "attributes")
    assert "first principal axis follows hair_darkness" in finding(doc, "attributes")
    assert "b = 1.5 has the radius distribution nearest" in finding(doc, "components")
    assert "would match at b = 1.25" in finding(doc, "components")  # 1.5 / 1.2
    for part in doc.parts:  # every finding is in the Markdown, escaped
        assert report.md_escape(part.finding) in markdown


def test_frechet_winner_and_its_ratio_to_the_real_baseline(tree):
    doc, _, _ = build(tree)
    text = finding(doc, "samplers")
    assert "comes from mixture k=4: 3.00, 1.50× the real baseline's 2.00" in text
    assert "Next: normal scale=1 (4.00); farthest: uniform b=1.5 (70.0)" in text
    assert "it fits its own vectors better by 1.75" in text


def test_another_sampler_wins_the_frechet_comparison(tmp_path):
    rows = [r if r[1] != "normal" else (*r[:6], 2.5, 0.7, 0.6) for r in SAMPLING_ROWS]
    doc, _, _ = build(write_tree(tmp_path, sampling_rows=rows))
    assert "comes from normal scale=1: 2.50, 1.25× the real baseline's 2.00" in finding(doc, "samplers")
    assert "samplers that model them 2.50 (normal scale=1)" in finding(doc, "intervals")


def test_a_winner_that_copies_is_named_so_and_the_best_new_faces_come_from_another(tmp_path):
    """mixture k=4 wins on Fréchet distance, but 30% of its vectors are near-copies: the verdict
    names the best setting with at most 5% (intervals fact=2, not the copying winner nor normal)."""
    copies = {**NEAR_COPIES, "mixture k=4": (0.5, 0.2, 0.3), "normal scale=1": (1.0, 0.5, 0.06)}
    text = finding(build(write_tree(tmp_path / "a", near_copies=copies))[0], "samplers")
    assert "comes from mixture k=4" in text and "But 30.0% of its vectors are near-copies" in text
    assert "come from intervals fact=2: Fréchet distance 40.0, 20.0× the real baseline's" in text
    plain = finding(build(write_tree(tmp_path / "b"))[0], "samplers")  # the winner copies 3%: no caveat
    assert "near-copies" not in plain


def test_intervals_finding_and_the_cost_of_ignoring_correlations(tree):
    text = finding(build(tree)[0], "intervals")
    assert "intervals fact=2 comes nearest" in text and "It is the largest fact tried" in text
    assert "At most 2.00% of the interval vectors (intervals fact=2) lie in the core" in text
    assert "ignoring correlations costs a factor 13.3" in text  # 40 / 3


def test_origin_outside_and_inside_the_core(tmp_path):
    outside = finding(build(write_tree(tmp_path / "a"))[0], "centre")
    assert "1.82× the core radius 5.43" in outside and "the origin lies outside the core" in outside
    assert "97.0% of the real vectors are nearer the centre than the origin is" in outside
    metrics = with_metrics(geometry={"origin_mahalanobis": 3.0, "origin_beyond_fraction": 0.4})
    inside = finding(build(write_tree(tmp_path / "b", metrics=metrics))[0], "centre")
    assert "the origin lies inside the core" in inside and "outside" not in inside


def test_uniform_vectors_in_the_core(tmp_path):
    none = finding(build(write_tree(tmp_path / "a"))[0], "centre")
    assert "No uniform [-b, b] vector (b = 1, 2) lands in the core" in none
    some = finding(build(write_tree(tmp_path / "b", uniform_core={1.0: 0.0, 2.0: 0.25}))[0], "centre")
    assert "b = 2 puts the most in the core: 25.0%" in some


def test_sample_counts_within_and_beyond_the_stated_share(tmp_path):
    within = finding(build(write_tree(tmp_path / "a"))[0], "correlations")
    assert "within 5% of the exact counts (largest relative error 1.23%)" in within
    metrics = with_metrics(correlation={"count_error_max": 0.2})
    pairs = [(0.1, 60, 61), (0.3, 24, 30), (0.5, 11, 12), (0.7, 1, 0)]
    beyond = finding(build(write_tree(tmp_path / "b", metrics=metrics, pairs=pairs))[0], "correlations")
    assert "miss the exact ones by more than 5%: by up to 20.0% at |r| > 0.3" in beyond
    assert "within" not in beyond


def test_near_copies_named_only_above_the_stated_share(tmp_path):
    none = finding(build(write_tree(tmp_path / "a"))[0], "neighbours")
    assert "No setting has more than 5% near-copies (the most: mixture k=4, 3.00%)" in none
    assert "nearest the training vectors is intervals fact=2: median distance 0.900×" in none
    copies = {**NEAR_COPIES, "mixture k=4": (0.5, 0.2, 0.6)}
    some = finding(build(write_tree(tmp_path / "b", near_copies=copies))[0], "neighbours")
    assert "Only mixture k=4 (60.0%) has more than 5% near-copies" in some


def test_overfitting_and_the_loss_trend(tmp_path):
    fits = finding(build(write_tree(tmp_path / "a"))[0], "autoencoder")
    assert "no sign of overfitting" in fits and "still fell in the last epoch" in fits
    metrics = with_metrics(train={"val_loss": 0.0062})
    over = finding(build(write_tree(tmp_path / "b", metrics=metrics))[0], "autoencoder")
    assert "2.00× the last training loss" in over and "fits its training images better than held-out ones" in over
    assert "it learned something" in fits
    dead = finding(build(write_tree(tmp_path / "c", metrics=with_metrics(train={"psnr_holdout_db": 15.0})))[0],
                   "autoencoder")
    assert "it learned nothing" in dead  # at or below the mean training face's 15.5 dB


def test_optional_numbers_absent(tmp_path):
    metrics = with_metrics(attributes={"judge_mean_balanced_accuracy": None})
    metrics["sample"] = {}
    doc, markdown, _ = build(write_tree(tmp_path, metrics=metrics))
    assert "No attribute direction was judged" in finding(doc, "attributes")
    assert "mixture with the best held-out fit" not in finding(doc, "samplers")
    assert "| Judge's mean balanced accuracy | n/a |" in markdown


# ---------------------------------------------------------------------------------------------
# The two files


def test_every_section_in_outline_order_in_both_files(tree):
    _, markdown, html_text = build(tree)
    md_headings = re.findall(r"^## (.+)$", markdown, re.M)
    assert md_headings == ["Contents", *(report.md_escape(s.title) for s in SECTIONS)]
    html_ids = re.findall(r'<section id="([^"]+)">\n<h2>', html_text)
    assert html_ids == [s.key for s in SECTIONS]
    for text, titles in ((markdown, [report.md_escape(s.title) for s in SECTIONS]),
                         (html_text, [html.escape(s.title) for s in SECTIONS])):
        positions = [text.index(f"{'## ' if text is markdown else '<h2>'}{t}") for t in titles]
        assert positions == sorted(positions)
    for s in SECTIONS:  # each with its question
        assert report.md_escape(s.question) in markdown and html.escape(s.question) in html_text


def test_markdown_images_resolve_relative_to_the_report(tree):
    _, markdown, _ = build(tree)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links and all(not link.startswith(("/", "http")) for link in links)
    for link in links:
        assert (tree / "report" / link).resolve().is_file(), link
    assert "](../plots/reconstructions.png)" in markdown
    # a folder's PNGs in file-name order; other files left out
    decoded = [link for link in links if "/decoded/" in link]
    assert decoded == ["../plots/decoded/intervals_fact_01.00.png", "../plots/decoded/uniform_b_01.50.png"]
    expected = [f for s in SECTIONS for p in s.plots if not report.is_curve(p)
                for f in ([p] if p.endswith(".png") else [f"{p}/intervals_fact_01.00.png", f"{p}/uniform_b_01.50.png"])]
    assert [link.removeprefix("../") for link in links] == expected


def test_html_is_self_contained(tree):
    _, _, html_text = build(tree)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", html_text, re.I)
    assert "<script" not in html_text.lower() and "<link" not in html_text.lower()
    assert "@import" not in html_text and "url(" not in html_text
    sources = re.findall(r'<img src="([^"]*)"', html_text)
    assert len(sources) == html_text.count("<img") == 2 * 2 + sum(
        p.endswith(".png") for s in SECTIONS for p in s.plots)
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(report.PNG_SIGNATURE)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html_text))


def test_curves_point_to_dvc_plots_show(tree):
    _, markdown, html_text = build(tree)
    curves = [p for s in SECTIONS for p in s.plots if report.is_curve(p)]
    assert curves and all(f'Curve "{report.md_escape(c)}"' in markdown for c in curves)
    assert html_text.count('<p class="curve">') == len(curves)


def test_report_is_deterministic(tree):
    assert build(tree)[1:] == build(tree)[1:]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("relative", ["metrics/geometry.json", "metrics/sampling.json", "plots/pairs_above.csv",
                                      "plots/radii.png", "plots/paths.json",
                                      "dvclive/plots/metrics/val/loss.tsv"])
def test_a_missing_input_is_an_input_error_naming_the_file(tree, relative):
    (tree / relative).unlink()
    with pytest.raises(InputError, match=re.escape(relative)):
        report.read_inputs(tree / "metrics", tree / "plots", tree / "dvclive")


def test_a_missing_image_folder_is_an_input_error(tree):
    for f in (tree / "plots" / "paths").iterdir():
        f.unlink()
    (tree / "plots" / "paths").rmdir()
    with pytest.raises(InputError, match="plots/paths"):
        report.read_inputs(tree / "metrics", tree / "plots", tree / "dvclive")


@pytest.mark.parametrize("relative, content, message", [
    ("metrics/train.json", "{not json", "not valid JSON"),
    ("metrics/train.json", json.dumps({"train_loss": 0.1, "val_loss": 0.1}), "one top-level key 'train'"),
    ("metrics/geometry.json", json.dumps({"geometry": {"core_radius": 1.0}}), "geometry.centre_norm must be a number"),
    ("metrics/stats.json", json.dumps({"stats": {**METRICS["stats"], "median_hw": "wide"}}), "stats.median_hw"),
    ("metrics/sampling.json", json.dumps({"sampling": {"real": {"reencoded_precision": 1.0}}}), "sampling.real"),
    ("plots/pairs_above.csv", "threshold,sample\n0.5,3\n", "no column 'full'"),
    ("plots/sampling.csv", ",".join(SAMPLING_COLUMNS) + ",reencoded_frechet_low,reencoded_frechet_high"
     "\nreal,real,,,high,1,2,0.9,0.8,1.5,2.5\n", "'in_core': 'high'"),
    ("plots/sampling.csv", ",".join(SAMPLING_COLUMNS) + "\nreal,real,,,0.9,1,2,0.9,0.8\n", "no column 'reencoded_frechet_low'"),
    ("plots/frechet_differences.csv", "setting,versus,difference,low\n", "no column 'high'"),
    ("plots/radius_by_b.csv", "b,metric,score\n1,radius_distance,2.0\n", "uniform_radius_ratio"),
    ("plots/slice.png", "not a png", "not a PNG"),
])
def test_a_malformed_input_is_an_input_error_naming_the_file(tree, relative, content, message):
    (tree / relative).write_text(content)
    with pytest.raises(InputError, match=re.escape(relative)) as info:
        report.read_inputs(tree / "metrics", tree / "plots", tree / "dvclive")
    assert message in str(info.value)


# ---------------------------------------------------------------------------------------------
# The stage script


def run_report(root: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": str(Path(sys.executable).parent)}
    return subprocess.run([sys.executable, str(REPO / "stages" / "report.py"), "--params", str(REPO / "params.yaml"),
                           "--metrics", "metrics", "--plots", "plots", "--live", "dvclive", "--out", "report"],
                          cwd=root, env=env, capture_output=True, text=True)


def test_stage_writes_both_files_quickly_without_keras(tree):
    start = time.monotonic()
    result = run_report(tree)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 10
    assert sorted(p.name for p in (tree / "report").iterdir()) == ["README.md", "index.html"]  # no temporaries
    markdown = (tree / "report" / "README.md").read_text(encoding="utf-8")
    assert "](../plots/radii.png)" in markdown and "`metrics/geometry.json` `geometry.core_radius`" in markdown
    source = "".join(p.read_text() for p in sorted((REPO / "src" / "latentspace" / "report").glob("*.py")))
    source += (REPO / "stages" / "report.py").read_text()
    assert not re.search(r"^\s*(?:import|from)\s+(?:keras|tensorflow|matplotlib)", source, re.M)


def test_stage_exits_with_one_line_naming_a_missing_file(tree):
    (tree / "metrics" / "normality.json").unlink()
    result = run_report(tree)
    assert result.returncode != 0 and not (tree / "report").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "metrics/normality.json" in lines[0], result.stderr


def test_dvc_yaml_report_stage_lists_what_it_reads():
    """Once dvc.yaml has the stage: every file the report reads is a dep, both files outs without cache."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    if "report" not in stages:
        pytest.skip("dvc.yaml has no report stage yet")
    stage = stages["report"]
    deps = set(stage["deps"])
    reads = ({f"metrics/{stem}.json" for stem in report.METRIC_KEYS} | {f"plots/{n}" for n in report.TABLE_COLUMNS}
             | {f"plots/{report.PATHS_FILE}"}
             | {p for s in SECTIONS for p in s.plots if not report.is_curve(p)})
    assert reads <= deps, sorted(reads - deps)
    assert "dvclive" in deps or {f"dvclive/{f}" for f in report.LOSS_FILES.values()} <= deps
    outs = {next(iter(o)): next(iter(o.values())) for o in stage["outs"] if isinstance(o, dict)}
    assert {"report/README.md", "report/index.html"} <= set(outs)
    assert all(outs[o].get("cache") is False for o in ("report/README.md", "report/index.html"))


def test_the_normality_finding_quotes_the_vectors_actually_tested():
    """normality.test_size is capped at the number of vectors: the finding says how many were tested."""
    normality = {"component_normal_fraction": 0.1, "axis_normal_fraction": 0.0, "axis_median_ks": 0.02}
    assert f"on {SETTINGS.test_size} vectors" in report.normality_finding(normality, SETTINGS, 10**6)
    assert "on 37 vectors" in report.normality_finding(normality, SETTINGS, 37)


def test_conditional_finding_compares_the_draws_with_real_faces(tree, tmp_path):
    text = finding(build(tree)[0], "conditional")
    assert "Drawn with Eyeglasses, 40.0% of the decoded faces show it to the judge, against 20.0% for the same " \
           "sampler fitted to every vector and 10.0% drawn without it (real held-out faces: 60.0% with, 10.0% " \
           "without)." in text
    assert "differ by 30.0 points between the classes, real faces' by 50.0: the draws keep 60.0%" in text
    none = with_metrics(conditional=dict.fromkeys(report.METRIC_KEYS["conditional"]))
    empty = write_tree(tmp_path / "empty", metrics=none)
    (empty / "plots/conditional.csv").write_text("attribute,drawn,metric,score\n")
    assert finding(build(empty)[0], "conditional").startswith("No face was drawn")


def test_the_verdict_says_whether_the_lead_of_the_best_new_faces_exceeds_its_interval(tmp_path):
    """Each difference's interval in the fixture is its value +- (0.5 + 20%): mixture k=4 (3.00) leads
    intervals fact=2 (40.0) far beyond it, and the real baseline (2.00) beats it by 1.00, beyond
    [0.30, 1.70]; with normal scale=1 at 3.20 and not copying, the lead of 0.200 is within the noise."""
    text = finding(build(write_tree(tmp_path / "a"))[0], "samplers")
    assert "The best new faces' Fréchet distance, 3.00 for mixture k=4, has the 90% bootstrap interval 2.50 " \
           "to 3.50." in text
    assert "intervals fact=2, score 40.0: mixture k=4 leads by 37.0 (90% interval 29.1 to 44.9), beyond the noise" in text
    assert "gap is 1.00 (90% interval 0.300 to 1.70): real training vectors still score better beyond the noise" in text
    rows = [r if r[1] != "normal" else (*r[:6], 3.2, 0.7, 0.6) for r in SAMPLING_ROWS]
    copies = {**NEAR_COPIES, "normal scale=1": (2.0, 0.9, 0.0)}
    close = finding(build(write_tree(tmp_path / "b", sampling_rows=rows, near_copies=copies))[0], "samplers")
    assert "normal scale=1, score 3.20: mixture k=4 leads by 0.200 (90% interval -0.340 to 0.740), within the noise" \
           in close
    assert "Of the other samplers' best new faces, 2 are worse beyond the noise and normal scale=1 within it." in close
