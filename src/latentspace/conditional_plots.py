"""The figure of the `conditional` stage: decoded faces drawn with and without each attribute."""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402

from latentspace import grids  # noqa: E402


@dataclass(frozen=True)
class AttributePanel:
    """One attribute's two rows of the figure.

    Attributes
    ----------
    attribute : str
    faces : dict of "with" / "without" -> ndarray of shape (m, S, S, 3), floats in [0, 1]
        Decoded draws of the sampler fitted to the vectors with / without the attribute.
    shares : dict of drawn -> float
        The judge's share of each set (keys of :data:`latentspace.conditional.DRAWN`; NaN: none).
    """

    attribute: str
    faces: dict
    shares: dict


def percent(share: float | None) -> str:
    """A share as the figure prints it: ``42%``, ``n/a`` where there is none."""
    return "n/a" if share is None or not math.isfinite(share) else f"{share:.0%}"


def conditional_faces(panels: list[AttributePanel], *, sampler: str):
    """Per attribute, a row of decoded faces drawn WITH it above a row drawn WITHOUT it, each row
    titled with the judge's share of its draws beside that of real held-out faces of the class.

    Parameters
    ----------
    panels : list of AttributePanel, at least one
        Every panel's rows hold the same number of faces of the same size.
    sampler : str
        The sampler setting's label, for the title.

    Returns
    -------
    fig : matplotlib Figure
    """
    side = panels[0].faces["with"].shape[1]
    scale = grids.display_scale(side, 64)
    columns = len(panels[0].faces["with"])
    rows = [(p, drawn) for p in panels for drawn in ("with", "without")]
    tiles = [grids.tile(grids.to_uint8(p.faces[drawn]), columns, scale=scale) for p, drawn in rows]
    h, w = tiles[0].shape[:2]
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(w / 70, 6) + 0.5, len(rows) * (h / 70 + 0.35) + 0.6),
                             squeeze=False, layout="constrained")
    for ax, tile, (p, drawn) in zip(axes[:, 0], tiles, rows):
        ax.imshow(tile, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"{drawn.upper()}\n{p.attribute}", fontsize=9)
        ax.set_title(f"fitted to vectors {drawn} {p.attribute}: the judge sees {p.attribute} in "
                     f"{percent(p.shares.get(drawn))} of the draws (real held-out faces {drawn} it: "
                     f"{percent(p.shares.get('real_' + drawn))}; fitted to all vectors: "
                     f"{percent(p.shares.get('unconditional'))})", fontsize=8, loc="left")
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(f"Faces drawn with and without an attribute: {sampler}, fitted to each class", fontsize=11)
    return fig

