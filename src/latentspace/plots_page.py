"""The page that `dvc plots show` and `dvc plots diff` fill: offline, in the order of the series' outline.

DVC writes one ``<div id=...>`` per plot, every Vega chart first and then the images by path, and
by default loads Vega from a CDN. This template instead carries the Vega, Vega-Lite and vega-embed
bundle of ``vl-convert-python`` inline (no network), keeps DVC's divs in a hidden container and,
once the page is parsed, moves each of them under the heading of its section in
``latentspace.outline.SECTIONS``. A plot the outline does not list lands under "Other plots", so
a plot added to dvc.yaml alone still shows.

The page is committed as ``.dvc/plots_page.html`` (``.dvc/config``: ``plots.html_template``) so
that a fresh clone draws offline without a build step; ``make plots-page`` regenerates it and
``tests/test_plots_page.py`` checks that the committed file is what this module makes now.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from dvc_render.base import Renderer

from latentspace.outline import SECTIONS, Section

# Vega-Lite of the bundle; the `$schema` of .dvc/plots/*.json must name the same major version
# (vega-embed compares the two and warns otherwise).
VEGA_LITE_VERSION = "6.4"
# What dvc-render replaces in the template (str.replace, so a copy inside the bundle would be hit too).
PLOTS_PLACEHOLDER = "{plot_divs}"
DVC_PLACEHOLDERS = (PLOTS_PLACEHOLDER, "{scripts}", "{refresh_tag}")
OTHER_KEY = "other"

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0 auto; padding: 0 24px 48px; max-width: 1320px; }
h1 { font-size: 1.6em; margin: 24px 0 8px; }
h2 { font-size: 1.3em; margin: 40px 0 4px; padding-top: 8px; border-top: 2px solid #ccc; }
nav.toc ol { columns: 2; margin: 0; }
nav.toc a { color: #1a5fb4; text-decoration: none; }
p.question { font-style: italic; color: #555; margin: 0 0 12px; }
div.slot > div { margin: 12px 0; }
div.slot > div > p:first-child { font-family: monospace; color: #555; }
/* DVC's image div: one box per revision, side by side and scaled down to share the width */
div.slot > div:has(img) { display: flex; flex-wrap: wrap; gap: 4px; }
div.slot > div:has(img) > p:first-child { flex: 0 0 100%; }
div.slot > div:has(img) > div { flex: 1 1 0; min-width: 0; }
div.slot img { max-width: 100%; height: auto; }
p.note { color: #a00; font-family: monospace; }
"""

# Runs before DVC's inline `vegaEmbed('#id', spec)` calls (wrapper) and after parsing (arrange).
SCRIPT = """
(() => {
  const embedded = new Set();
  const embed = window.vegaEmbed;
  // No "Open in Vega Editor" (it needs the network); SVG keeps text crisp and searchable.
  const OPTIONS = {renderer: "svg", actions: {export: true, source: true, compiled: false, editor: false}};

  function note(parent, text) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = text;
    parent.appendChild(p);
  }

  // Look the div up by id: DVC's ids need not be valid CSS selectors (a leading digit, a quote).
  window.vegaEmbed = (target, spec, options) => {
    const el = typeof target === "string" ? document.getElementById(target.replace(/^#/, "")) : target;
    if (!el) return Promise.reject(new Error(`no element ${target}`));
    embedded.add(el);
    return embed(el, spec, {...OPTIONS, ...options})
      .catch((err) => note(el, `could not draw ${el.id}: ${err}`));
  };

  // A quote in a plot id ends DVC's JS string early: the script fails, so embed its spec here.
  function embedSkipped(container) {
    for (const script of container.querySelectorAll("div[id] > script")) {
      const div = script.parentElement;
      const match = /var spec = ([\\s\\S]*);\\s*vegaEmbed\\(/.exec(script.textContent);
      if (embedded.has(div) || !match) continue;
      try {
        window.vegaEmbed(div, JSON.parse(match[1]));
      } catch (err) {
        note(div, `could not read the spec of ${div.id}: ${err}`);
      }
    }
  }

  function take(divs, ids) {
    ids.forEach((id) => divs.delete(id));
    return ids;
  }

  function arrange() {
    const container = document.getElementById("dvc-plots");
    embedSkipped(container);
    const divs = new Map([...container.children].filter((d) => d.id).map((d) => [d.id, d]));
    const slots = [...document.querySelectorAll("div.slot[data-div-id]")];
    const found = new Map();
    // Exact ids first: plots/decoded_overview.png has the id of a file plots/decoded/overview.png.
    for (const slot of slots) {
      if (divs.has(slot.dataset.divId)) found.set(slot, take(divs, [slot.dataset.divId]));
    }
    // Then folders: every remaining div under the prefix, by file name.
    for (const slot of slots.filter((s) => !found.has(s))) {
      const prefix = slot.dataset.divId + "_";
      found.set(slot, take(divs, [...divs.keys()].filter((id) => id.startsWith(prefix)).sort()));
    }
    for (const slot of slots) {
      const ids = found.get(slot);
      ids.forEach((id) => slot.appendChild(document.getElementById(id)));
      if (!ids.length) slot.remove();  // not in these revisions, or left out by --targets
    }
    const other = document.getElementById("section-other");
    divs.forEach((div) => other.querySelector("div.slot").appendChild(div));
    if (divs.size) document.querySelectorAll("[data-other]").forEach((el) => { el.hidden = false; });
    // A section with none of its plots on the page goes, with its entry in the contents.
    for (const section of document.querySelectorAll("section[id^='section-']:not([data-other])")) {
      if (section.querySelector("div.slot")) continue;
      section.hidden = true;
      const entry = document.querySelector(`a[href="#${section.id}"]`);
      if (entry) entry.parentElement.hidden = true;
    }
    container.remove();
  }

  document.addEventListener("DOMContentLoaded", arrange);
})();
"""


def div_id(plot: str) -> str:
    """The id of the div that dvc-render writes for a plot.

    Parameters
    ----------
    plot : str
        A dvc.yaml plot id (a curve's title) or an image's path.

    Returns
    -------
    str
        E.g. ``"plots_radii_png"`` for ``"plots/radii.png"``.
    """
    return Renderer.remove_special_chars(plot)


def toc(sections: tuple[Section, ...]) -> str:
    """The table of contents.

    Parameters
    ----------
    sections : tuple of Section
        The outline.

    Returns
    -------
    str
        A list of links to the sections, its "Other plots" entry hidden until that section has plots.
    """
    items = [f'<li><a href="#section-{s.key}">{html.escape(s.title)}</a></li>' for s in sections]
    items.append(f'<li data-other hidden><a href="#section-{OTHER_KEY}">Other plots</a></li>')
    return '<nav class="toc"><ol>\n' + "\n".join(items) + "\n</ol></nav>"


def section(key: str, title: str, question: str, plots: tuple[str, ...], hidden: bool = False) -> str:
    """One section: heading, question, and an empty slot per plot that the page script fills.

    Parameters
    ----------
    key, title, question : str
        As in `latentspace.outline.Section`.
    plots : tuple of str
        Plot ids, in order; none for "Other plots", which has one slot for all.
    hidden : bool
        Hide the section until the page script finds a plot for it.

    Returns
    -------
    str
        A ``<section id="section-KEY">`` element.
    """
    slots = [f'<div class="slot" data-plot="{html.escape(p)}" data-div-id="{html.escape(div_id(p))}"></div>'
             for p in plots] or ['<div class="slot"></div>']
    return "\n".join([f'<section id="section-{key}"{" data-other hidden" if hidden else ""}>',
                      f"<h2>{html.escape(title)}</h2>", f'<p class="question">{html.escape(question)}</p>',
                      *slots, "</section>"])


def page(bundle: str, sections: tuple[Section, ...] = SECTIONS) -> str:
    """The HTML template for `dvc plots show` / `dvc plots diff`.

    Parameters
    ----------
    bundle : str
        JavaScript that defines ``window.vegaEmbed`` (``vl_convert.javascript_bundle()``).
    sections : tuple of Section
        The outline: one heading per section, its plots in order.

    Returns
    -------
    str
        A page with ``{plot_divs}`` (and ``{refresh_tag}``) for dvc-render to fill, loading nothing.
    """
    for text in (*DVC_PLACEHOLDERS, "</script"):
        # dvc-render would replace a placeholder inside the code; "</script" would end the element early
        if text in bundle.lower():
            raise ValueError(f"the JavaScript bundle contains {text!r}")
    body = [toc(sections), *(section(s.key, s.title, s.question, s.plots) for s in sections),
            section(OTHER_KEY, "Other plots", "Plots in dvc.yaml that the outline does not list.", (), hidden=True)]
    # The bundle in a function of its own: its top-level names cannot clash with DVC's `var spec`.
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', "{refresh_tag}",
        "<title>Latent space: plots</title>",
        f"<script>\n(() => {{\n{bundle}\n}})();\n</script>", f"<script>{SCRIPT}</script>",
        f"<style>{STYLE}</style>", "</head>", "<body>", "<h1>Latent space: plots</h1>",
        *body, f'<div id="dvc-plots" hidden>\n{PLOTS_PLACEHOLDER}\n</div>', "</body>", "</html>", ""])


def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from the pinned vl-convert-python (no network).

    Returns
    -------
    str
        JavaScript that sets ``window.vegaEmbed``, ``window.vega`` and ``window.vegaLite``.
    """
    import vl_convert  # only needed to (re)generate the page

    return vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)


def main(argv: list[str] | None = None) -> None:
    """Write the page: ``python -m latentspace.plots_page --out .dvc/plots_page.html``.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the HTML template")
    args = parser.parse_args(argv)
    args.out.write_text(page(javascript_bundle()), encoding="utf-8")


if __name__ == "__main__":
    main()
