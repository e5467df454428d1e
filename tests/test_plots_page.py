"""The `dvc plots show` / `dvc plots diff` page: offline, every curve drawn, in the outline's order.

Three layers: the generated page template (.dvc/plots_page.html, committed), the Vega-Lite
templates of .dvc/plots/ filled the way DVC fills them and drawn by vl-convert, and the real
page of this repository opened in a Chromium that cannot reach the network (skipped when no
Chromium is installed).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import browser
import pytest
import vl_convert
import yaml
from bs4 import BeautifulSoup
from configobj import ConfigObj
from dvc.render.converter.vega import VegaConverter
from dvc_render import VegaRenderer
from dvc_render.vega import OPTIONAL_ANCHORS
from dvc_render.vega_templates import Template

from latentspace import plots_page
from latentspace.outline import SECTIONS

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / ".dvc" / "plots_page.html"
TEMPLATE_DIR = REPO / ".dvc" / "plots"
TEMPLATE_NAMES = ("series", "points", "bars")
PLOTS = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
# Curve definitions: {title: definition}; the other entries are image or folder paths.
CURVES = {title: spec for plot in PLOTS if isinstance(plot, dict) for title, spec in plot.items()}


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


# --- the page template -------------------------------------------------------------------------


def test_committed_page_is_what_the_generator_makes_now(page):
    assert page == plots_page.page(plots_page.javascript_bundle()), (
        ".dvc/plots_page.html is stale (outline, generator or vl-convert-python changed): run `make plots-page`")


def test_dvc_config_uses_the_page():
    config = ConfigObj(str(REPO / ".dvc" / "config"))
    assert (REPO / ".dvc" / config["plots"]["html_template"]) == PAGE


def test_page_loads_nothing_and_keeps_dvc_placeholder(page):
    assert page.count("{plot_divs}") == 1
    # DVC would put its CDN <script src=...> tags where {scripts} stands.
    assert "{scripts}" not in page
    # The bundle's code writes tags of its own (tooltips): look at the markup around the scripts.
    markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", page, flags=re.S | re.I)
    assert markup.count("<script>") == 2
    loads = re.findall(r"<(?:script|link|img|iframe|embed|object)\b[^>]*\b(?:src|href|data)\s*=", markup, flags=re.I)
    assert not loads, loads
    assert not re.search(r"@import|url\(|https?://", markup)


def test_page_has_every_section_heading_in_outline_order(page):
    positions = [page.find(f"<h2>{html.escape(s.title)}</h2>") for s in SECTIONS]
    assert -1 not in positions and positions == sorted(positions)
    for section in SECTIONS:
        assert html.escape(section.question) in page


def test_page_refuses_a_bundle_that_dvc_render_would_alter():
    for text in ("{plot_divs}", "{scripts}", "{refresh_tag}", "</script>"):
        with pytest.raises(ValueError, match="bundle"):
            plots_page.page(f"window.x = '{text}';")


def test_div_ids_are_dvc_renders():
    assert plots_page.div_id("plots/paths/principal_axes.png") == "plots_paths_principal_axes_png"
    assert plots_page.div_id("Pairs with |r| above a threshold") == "Pairs_with__r__above_a_threshold"


# --- the Vega-Lite templates -------------------------------------------------------------------


def test_dvc_yaml_uses_exactly_these_templates():
    assert {spec.get("template") for spec in CURVES.values()} == set(TEMPLATE_NAMES)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_uses_required_anchors_only_and_the_bundled_vega_lite(name):
    text = (TEMPLATE_DIR / f"{name}.json").read_text()
    spec = json.loads(text)
    for anchor in ("data", "x", "y"):
        assert Template.anchor(anchor) in text
    # The optional anchors switch on dvc-render's own colouring by revision.
    assert not [a for a in OPTIONAL_ANCHORS if Template.anchor(a) in text]
    major = plots_page.VEGA_LITE_VERSION.split(".")[0]
    assert spec["$schema"] == f"https://vega.github.io/schema/vega-lite/v{major}.json"


def encodings(spec, channel: str) -> list[dict]:
    """Every encoding of one channel anywhere in a spec (layers included)."""
    if isinstance(spec, list):
        return [e for item in spec for e in encodings(item, channel)]
    if not isinstance(spec, dict):
        return []
    own = [spec["encoding"][channel]] if channel in spec.get("encoding", {}) else []
    return own + [e for value in spec.values() for e in encodings(value, channel)]


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_colours_by_the_series(name):
    spec = json.loads((TEMPLATE_DIR / f"{name}.json").read_text())
    assert {e["field"] for e in encodings(spec, "color")} == {"curve"}
    curve = next(t["calculate"] for t in spec["transform"] if t.get("as") == "curve")
    assert all(f"datum.{key}" in curve for key in ("series", "field", "dvc_file"))


@pytest.mark.parametrize("name, channel", [("series", "strokeDash"), ("points", "shape"), ("bars", "yOffset")])
def test_template_tells_revisions_apart(name, channel):
    spec = json.loads((TEMPLATE_DIR / f"{name}.json").read_text())
    assert [e["field"] for e in encodings(spec, channel)] == ["rev"]


def drawn(plot: dict, revisions: dict[str, dict[str, list[dict]]]) -> str:
    """Fill a template as `dvc plots show` does, then draw it with the bundled Vega.

    Parameters
    ----------
    plot : dict
        A dvc.yaml curve definition (template, x, y, ...).
    revisions : dict
        {rev: {file: rows}}, rows as DVC reads them from CSV (strings).

    Returns
    -------
    str
        The text of every <text> of the SVG: titles, axis and legend labels.
    """
    datapoints, properties = [], {}
    for rev, files in revisions.items():
        data = {file: {"data": rows} for file, rows in files.items()}
        points, props = VegaConverter("plot", data, plot).flat_datapoints(rev)
        datapoints += points
        properties = properties or props
    renderer = VegaRenderer(datapoints, "plot", **{**properties, "template_dir": str(TEMPLATE_DIR)})
    spec = renderer.get_filled_template()
    assert "<DVC_METRIC" not in json.dumps(spec)
    svg = vl_convert.vegalite_to_svg(spec, vl_version=plots_page.VEGA_LITE_VERSION)
    return " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def long_rows(x: str, series: list[str]) -> list[dict]:
    return [{x: str(v), "series": s, "density": str(k * v)} for k, s in enumerate(series, 1) for v in range(4)]


def test_series_column_gives_colours_and_revisions_dashes():
    plot = {"template": "series", "x": "radius", "y": {"plots/radii.csv": "density"}}
    rows = long_rows("radius", ["real", "uniform_b1", "uniform_b2"])
    text = drawn(plot, {"HEAD": {"plots/radii.csv": rows}, "workspace": {"plots/radii.csv": rows[::-1]}})
    assert all(name in text for name in ("real", "uniform_b1", "uniform_b2", "HEAD", "workspace", "series", "revision"))


def test_several_y_fields_are_coloured_by_field():
    plot = {"template": "series", "x": "component", "y": {"plots/components.csv": ["mu", "hw", "std"]}}
    rows = [{"component": str(c), "mu": "0.5", "hw": "1", "std": "0.8", "mean": "0"} for c in range(5)]
    text = drawn(plot, {"workspace": {"plots/components.csv": rows}})
    assert re.search(r"\bmu\b.*\bhw\b.*\bstd\b", text)


def test_several_files_are_coloured_by_file():
    plot = {"template": "series", "x": "step",
            "y": {"dvclive/plots/metrics/train/loss.tsv": "loss", "dvclive/plots/metrics/val/loss.tsv": "loss"}}
    rows = [{"step": str(s), "loss": str(1 / (s + 1))} for s in range(5)]
    text = drawn(plot, {"workspace": {"dvclive/plots/metrics/train/loss.tsv": rows,
                                            "dvclive/plots/metrics/val/loss.tsv": rows}})
    assert "train/loss" in text and "val/loss" in text


def test_points_colour_by_series_and_shape_by_revision():
    plot = {"template": "points", "x": "component", "y": {"plots/normality_components.csv": "ks_distance"}}
    rows = [{"component": str(c), "ks_distance": str(c / 10)} for c in range(5)]
    text = drawn(plot, {"HEAD": {"plots/normality_components.csv": rows},
                              "workspace": {"plots/normality_components.csv": rows}})
    assert all(name in text for name in ("ks_distance", "HEAD", "workspace"))


def test_bars_keep_the_file_order_and_colour_by_sampler():
    plot = {"template": "bars", "x": "in_core", "y": {"plots/sampling.csv": "setting"}}
    rows = [{"setting": s, "sampler": s.split("_")[0], "in_core": str(v)}
            for s, v in [("real", 0.98), ("uniform_b_02", 0.0), ("normal_scale_1", 1.0), ("mixture_k_10", 0.5)]]
    text = drawn(plot, {"HEAD": {"plots/sampling.csv": rows}, "workspace": {"plots/sampling.csv": rows}})
    positions = [text.find(row["setting"]) for row in rows]
    assert -1 not in positions and positions == sorted(positions)
    assert all(name in text for name in ("uniform", "normal", "mixture", "HEAD", "workspace"))


# --- the real page in an offline browser -------------------------------------------------------


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run DVC of this interpreter; its stderr must hold no warning nor error."""
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not re.search(r"ERROR|WARNING", result.stderr), result.stderr
    return result


def check_page(index: Path, revisions: tuple[str, ...] = ("workspace",)) -> None:
    """Every curve drawn, every image found, every plot under its section's heading, in order."""
    dom = BeautifulSoup(browser.dump_dom(index), "html.parser")
    assert not dom.select("p.note"), [p.get_text() for p in dom.select("p.note")]
    # A drawn chart is an <svg> or <canvas> of class "marks" (vega-embed's root; a mark group may share the class).
    charts = dom.select("div[id] svg.marks, div[id] canvas.marks")
    drawn_ids = [chart.find_parent("div", id=True)["id"] for chart in charts]
    missing = [title for title in CURVES if plots_page.div_id(title) not in drawn_ids]
    assert not missing, f"curves not drawn: {missing}"
    assert len(charts) == len(CURVES), f"charts that dvc.yaml does not define: {drawn_ids}"
    for title in CURVES:
        chart = dom.find(id=plots_page.div_id(title))
        marks = chart.select("g.role-mark path[d]")
        assert any(path["d"] for path in marks), f"nothing drawn in {title!r}"
        assert all(rev in chart.get_text() for rev in revisions), f"a revision missing from {title!r}"
    images = dom.select("img")
    assert images and all((index.parent / img["src"]).is_file() for img in images)
    # "Other plots" stays hidden: the outline lists every plot of dvc.yaml
    assert [h.get_text() for h in dom.select("section:not([hidden]) > h2")] == [s.title for s in SECTIONS]
    for section in SECTIONS:
        inside = {div["id"] for div in dom.select(f"section#section-{section.key} div.slot > div[id]")}
        for plot in map(plots_page.div_id, section.plots):
            assert plot in inside or any(i.startswith(plot + "_") for i in inside), f"{plot} not in {section.key}"
    assert len(dom.select("div.slot img")) == len(images)


@pytest.fixture(scope="module")
def chromium():
    if browser.find_chromium() is None:
        pytest.skip("Chromium not installed: apt-get install chromium to run the offline plots check")
    missing = [p for p in ("plots/sampling.csv", "dvclive") if not (REPO / p).exists()]
    if missing:
        pytest.skip(f"no plot data ({', '.join(missing)}): run `make repro` first")


def test_dvc_plots_show_draws_every_plot_offline(chromium, tmp_path):
    dvc("plots", "show", "-o", str(tmp_path / "page"), cwd=REPO)
    check_page(tmp_path / "page" / "index.html")


def test_dvc_plots_diff_draws_every_plot_of_two_revisions_offline(chromium, tmp_path):
    repo = tmp_path / "repo"
    for path in ("dvc.yaml", "params.yaml", ".dvc/config", ".dvc/plots", ".dvc/plots_page.html", "plots", "dvclive"):
        copy = shutil.copytree if (REPO / path).is_dir() else shutil.copy
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / path, repo / path)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "plots"]):
        subprocess.run([*git, *command], cwd=repo, check=True, capture_output=True)
    radii = repo / "plots" / "radii.csv"
    header, first, *rest = radii.read_text().splitlines(keepends=True)
    radii.write_text(header + first.rsplit(",", 1)[0] + ",0.123456\n" + "".join(rest))
    dvc("plots", "diff", "HEAD", "-o", str(tmp_path / "page"), cwd=repo)
    check_page(tmp_path / "page" / "index.html", revisions=("HEAD", "workspace"))
