"""Rendering the document, as pure functions of it: Markdown for the forge and one offline HTML file.

The Markdown links images relative to the report's folder (a forge shows them); the HTML embeds them
as ``data:`` URIs, with inline CSS and no script, so that one file opens offline.
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

from latentspace.report.document import Curve, Document
from latentspace.report.text import fmt


def cell(value) -> str:
    """A table cell as text: numbers through :func:`fmt`, text as it is."""
    return value if isinstance(value, str) else fmt(value)


def md_escape(text: str) -> str:
    """Text safe in Markdown paragraphs and table cells (GitHub and GitLab flavoured)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def md_anchor(title: str) -> str:
    """The anchor GitHub and GitLab give a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _md_table(header, rows) -> list[str]:
    header = list(header)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def render_markdown(doc: Document, out_dir: Path) -> str:
    """The report as GitHub/GitLab Markdown.

    Parameters
    ----------
    doc : Document
    out_dir : Path
        The folder the Markdown file goes to: images are linked relative to it (``../plots/radii.png``).

    Returns
    -------
    markdown : str
    """
    lines = [f"# {md_escape(doc.title)}", "", doc.preface, "", "## Contents", ""]
    lines += [f"- [{md_escape(p.section.title)}](#{md_anchor(p.section.title)})" for p in doc.parts] + [""]
    for part in doc.parts:
        lines += [f"## {md_escape(part.section.title)}", "", f"*{md_escape(part.section.question)}*", "",
                  f"**Finding.** {md_escape(part.finding)}", ""]
        if part.numbers:
            lines += _md_table(("Key number", "Value", "Source"),
                               ((md_escape(n.label), n.text, f"`{n.source}` `{n.key}`") for n in part.numbers))
        for table in part.tables:
            lines += [f"**{md_escape(table.caption)}** (from `{table.source}`)", ""]
            lines += _md_table(map(md_escape, table.header),
                               ([md_escape(cell(v)) for v in row] for row in table.rows))
        for fig in part.figures:
            if isinstance(fig, Curve):
                lines += [f"*Curve \"{md_escape(fig.title)}\": run `dvc plots show` to draw it.*", ""]
            else:
                link = Path(os.path.relpath(os.path.abspath(fig.path), os.path.abspath(out_dir))).as_posix()
                lines += [f"![{md_escape(fig.caption)}]({link})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0 auto; padding: 0 24px 48px; max-width: 1100px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 24px 0 8px; }
h2 { font-size: 1.3em; margin: 40px 0 4px; padding-top: 8px; border-top: 2px solid #ccc; }
p.question { font-style: italic; color: #555; margin: 0 0 12px; }
p.finding { background: #f4f7fb; border-left: 4px solid #1a5fb4; padding: 8px 12px; }
nav ol { columns: 2; }
a { color: #1a5fb4; text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
code { font-size: 0.9em; color: #555; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; }
figcaption, p.curve { font-family: monospace; color: #555; font-size: 0.9em; }
"""


def _html_cell(value) -> str:
    numeric = "" if isinstance(value, str) else ' class="n"'
    return f"<td{numeric}>{html.escape(cell(value))}</td>"


def _html_table(caption: str, header, rows) -> str:
    """A table; ``caption`` is HTML already, header and cells are escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(map(_html_cell, row)) + "</tr>\n" for row in rows)
    return f"<table>\n<caption>{caption}</caption>\n<tr>{head}</tr>\n{body}</table>\n"


def code_spans(text: str) -> str:
    """Markdown code spans (`` `x` ``) of escaped text as ``<code>x</code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render_html(doc: Document, png: dict[Path, bytes]) -> str:
    """The report as one self-contained HTML file.

    Parameters
    ----------
    doc : Document
    png : dict of Path -> bytes
        The bytes of every :class:`Image` of ``doc``, embedded as ``data:image/png;base64`` URIs.

    Returns
    -------
    html : str
        Inline CSS, no script, no link to anything outside the file (only ``#section`` anchors).
    """
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(doc.title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(doc.title)}</h1>", f"<p>{code_spans(e(doc.preface))}</p>", "<nav><ol>"]
    out += [f'<li><a href="#{e(p.section.key)}">{e(p.section.title)}</a></li>' for p in doc.parts]
    out.append("</ol></nav>")
    for part in doc.parts:
        out += [f'<section id="{e(part.section.key)}">', f"<h2>{e(part.section.title)}</h2>",
                f'<p class="question">{e(part.section.question)}</p>',
                f'<p class="finding"><strong>Finding.</strong> {e(part.finding)}</p>']
        if part.numbers:
            out.append(_html_table("Key numbers", ("Key number", "Value", "Source"),
                                   ((n.label, n.value, f"{n.source}: {n.key}") for n in part.numbers)))
        for t in part.tables:
            out.append(_html_table(f"{e(t.caption)} <code>{e(t.source)}</code>", t.header, t.rows))
        for fig in part.figures:
            if isinstance(fig, Curve):
                out.append(f'<p class="curve">Curve "{e(fig.title)}": run <code>dvc plots show</code> to draw it.</p>')
            else:
                data = base64.b64encode(png[fig.path]).decode("ascii")
                out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(fig.caption)}">'
                           f"<figcaption>{e(fig.caption)}</figcaption></figure>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
