"""The series as a generated report: one document model, rendered as Markdown and as one HTML file.

The report follows :data:`latentspace.outline.SECTIONS`. Each section holds its outline title and
question, its figures (the outline's images; a curve, which has no image file, is a pointer to
``dvc plots show``), its key numbers read from ``metrics/`` and ``plots/`` (never typed here) and a
finding written from those numbers by rules, so that a finding stays true when the numbers change.

Three layers, top to bottom, over the document model of :mod:`~latentspace.report.document` and the
number formats of :mod:`~latentspace.report.text`:

- reading (:mod:`~latentspace.report.inputs`, :func:`read_inputs`): the metrics, plot tables and
  images, checked against what the report uses; a missing or malformed file is an
  :class:`~latentspace.io.InputError` naming it;
- building (:mod:`~latentspace.report.sections`, :func:`build_document`): one ``*_finding`` function
  per section turns loaded numbers into text (:mod:`~latentspace.report.findings` for the
  autoencoder and its cloud, :mod:`~latentspace.report.samplers` for the samplers' vectors), one
  ``*_section`` function gathers a section's finding, key numbers and tables;
- rendering (:mod:`~latentspace.report.render`, :func:`render_markdown`, :func:`render_html`): pure
  functions of the document. The Markdown links images relative to the report's folder (a forge
  shows them); the HTML embeds them as ``data:`` URIs, with inline CSS and no script, so that one
  file opens offline.

Curves are not redrawn here: ``dvc plots show`` draws them from dvc.yaml, which stays their only
definition, and the numbers behind them appear as tables. The report imports neither Keras nor
matplotlib and runs in well under a second. This module re-exports what the stage script and the
tests use, so ``report.read_inputs``, ``report.fmt`` and the like name the same functions as before.
"""

from latentspace.report.document import Curve, Document, Figure, Image, Number, Part, Table
from latentspace.report.findings import normality_finding
from latentspace.report.inputs import (LOSS_FILES, METRIC_KEYS, MIXTURE_KEYS, PATHS_FILE, PNG_SIGNATURE, TABLE_COLUMNS,
                                       TABLE_METRICS, Inputs, Settings, is_curve, read_inputs)
from latentspace.report.render import md_anchor, md_escape, render_html, render_markdown
from latentspace.report.sections import BUILDERS, build_document
from latentspace.report.text import fmt, param, param_pct, pct, times

__all__ = [
    "Curve", "Document", "Figure", "Image", "Number", "Part", "Table",
    "normality_finding",
    "LOSS_FILES", "METRIC_KEYS", "MIXTURE_KEYS", "PATHS_FILE", "PNG_SIGNATURE", "TABLE_COLUMNS", "TABLE_METRICS",
    "Inputs", "Settings", "is_curve", "read_inputs",
    "md_anchor", "md_escape", "render_html", "render_markdown",
    "BUILDERS", "build_document",
    "fmt", "param", "param_pct", "pct", "times",
]
