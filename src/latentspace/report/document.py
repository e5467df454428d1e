"""The document model of the report: what the builders make and the renderers take.

A :class:`Document` holds one :class:`Part` per section of :data:`latentspace.outline.SECTIONS`: its
finding, its key numbers (:class:`Number`, each with where it was read), its tables of plot data
(:class:`Table`) and its figures (an :class:`Image` file, or a :class:`Curve` that ``dvc plots show``
draws).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from latentspace.outline import Section
from latentspace.report.text import fmt


@dataclass(frozen=True)
class Number:
    """One key number and where it was read.

    Attributes
    ----------
    label : str
        What it is, e.g. ``"Core radius (Mahalanobis)"``.
    value : int, float or None
        As read from the file.
    source : str
        The file, e.g. ``"metrics/geometry.json"``.
    key : str
        Its key in the file, e.g. ``"geometry.core_radius"`` (what ``dvc metrics show`` prints).
    """

    label: str
    value: int | float | None
    source: str
    key: str

    @property
    def text(self) -> str:
        return fmt(self.value)


@dataclass(frozen=True)
class Table:
    """Rows of numbers read from a plot-data file; cells are text or raw numbers (formatted by :func:`fmt`)."""

    caption: str
    source: str
    header: tuple[str, ...]
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class Image:
    """A PNG file shown as a figure; ``caption`` is its plot id or, inside a folder, its file name."""

    caption: str
    path: Path


@dataclass(frozen=True)
class Curve:
    """A dvc.yaml curve (a plot id that is a title, not a file): drawn by ``dvc plots show``."""

    title: str


Figure = Union[Image, Curve]


@dataclass(frozen=True)
class Part:
    """One section of the report: the outline's section with what the outputs say about it."""

    section: Section
    finding: str
    numbers: tuple[Number, ...]
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class Document:
    title: str
    preface: str
    parts: tuple[Part, ...]
