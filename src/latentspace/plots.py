"""Figures of the pipeline. Every function returns a matplotlib Figure and never shows it."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def labelled_panels(rows):
    """Image grids under their labels: one row of the figure per list in ``rows``.

    Parameters
    ----------
    rows : list of list of (ndarray of shape (H, W, 3) uint8, str)
        E.g. one row per sampler, its settings left to right in increasing order.
    """
    columns = max(len(r) for r in rows)
    h, w = rows[0][0][0].shape[:2]
    fig, axes = plt.subplots(len(rows), columns, figsize=(columns * w / 70, len(rows) * (h / 70 + 0.4)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for axes_row, row in zip(axes, rows):
        for ax, (panel, label) in zip(axes_row, row):
            ax.imshow(panel, interpolation="nearest")
            ax.set_title(label, fontsize=9)
    fig.tight_layout()
    return fig


def component_histograms(centres, counts, components, mu, hw, *, bin_width: float, columns: int = 5):
    """Binned number distributions of selected components, with mu and mu +- hw marked.

    Parameters
    ----------
    centres : ndarray of shape (n_bins,)
    counts : ndarray of shape (latent_dim, n_bins)
    components : sequence of int
    mu, hw : ndarray of shape (latent_dim,)
    """
    components = list(components)
    rows = max(1, math.ceil(len(components) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.flat[len(components):]:
        ax.axis("off")
    for ax, c in zip(axes.flat, components):
        occupied = np.flatnonzero(counts[c])
        sl = slice(occupied[0], occupied[-1] + 1)
        ax.bar(centres[sl], counts[c, sl], width=bin_width, color="tab:blue", alpha=0.8)
        ax.axvline(mu[c], color="black", lw=1)
        ax.axvspan(mu[c] - hw[c], mu[c] + hw[c], color="orange", alpha=0.2)
        ax.axvline(0, color="gray", lw=0.8, ls=":")
        ax.set_title(f"component {c}: mu={mu[c]:g}, hw={hw[c]:g}", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Number distributions of the dominant components (shaded: mu +- hw; dotted: 0)", fontsize=11)
    fig.tight_layout()
    return fig


def distance_distributions(centres, densities: dict[str, np.ndarray], *, xlabel: str, title: str,
                           markers: dict[str, float] | None = None):
    """Densities of the real vectors' distances (bold black) and of uniform [-b, b] vectors'
    on common bins, with optional labelled vertical lines (e.g. where the origin lies).

    Parameters
    ----------
    centres : ndarray of shape (bins,)
    densities : dict of name -> ndarray of shape (bins,)
        ``real`` and CSV-safe names such as ``uniform_b1_5``.
    markers : dict of label -> x
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, dens in densities.items():
        style = dict(color="black", lw=2.5) if name == "real" else dict(lw=1.5)
        # CSV-safe column names (uniform_b1_5) back to what a reader expects (uniform b=1.5)
        label = name.replace("uniform_b", "uniform b=").replace("_", ".")
        ax.plot(centres, dens, label=label, **style)
    for (label, x), style in zip((markers or {}).items(), ("--", ":", "-.")):
        ax.axvline(x, color="gray", ls=style, lw=1.5, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def variance_spectrum(explained: np.ndarray, axes_for: dict[float, int]):
    """Explained-variance fraction per principal axis (log scale) and its cumulative sum,
    with the number of axes needed for each target fraction marked.

    Parameters
    ----------
    explained : ndarray of shape (latent_dim,)
    axes_for : dict of target fraction -> number of leading axes that reach it
    """
    axis = np.arange(1, len(explained) + 1)
    cumulative = np.cumsum(explained)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.semilogy(axis, explained, color="tab:blue")
    left.set_xlabel("principal axis")
    left.set_ylabel("fraction of the variance")
    left.set_title("Variance along each principal axis")
    right.plot(axis, cumulative, color="tab:blue")
    for t, k in axes_for.items():
        right.axhline(t, color="gray", ls=":", lw=1)
        right.axvline(k, color="gray", ls="--", lw=1)
        right.annotate(f"{t:.0%}: {k} axes", (k, t), textcoords="offset points", xytext=(6, -14), fontsize=9)
    right.set_xlabel("number of leading axes")
    right.set_ylabel("cumulative fraction of the variance")
    right.set_ylim(0, 1.02)
    right.set_title("Cumulative explained variance")
    fig.tight_layout()
    return fig


def correlation_heatmap(r: np.ndarray, *, title: str):
    """The correlation matrix on a diverging colour scale fixed to [-1, 1]."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(r, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="Pearson r")
    ax.set_xlabel("component j")
    ax.set_ylabel("component i")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pair_scatter_grid(z_sample, pairs, uniform_vectors, special, *, b: float, special_index: int,
                      columns: int = 4):
    """The series' grid of 2-D projections onto the most correlated component pairs.

    Parameters
    ----------
    z_sample : ndarray of shape (m, latent_dim)
        Real vectors, drawn in blue.
    pairs : list of (i, j, r)
    uniform_vectors : ndarray of shape (k, latent_dim)
        Statistical vectors with components uniform on [-b, b], drawn in red.
    special : ndarray of shape (latent_dim,)
        One real vector, drawn in orange; the origin is drawn in yellow.
    """
    rows = max(1, math.ceil(len(pairs) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False)
    for ax in axes.flat[len(pairs):]:
        ax.axis("off")
    for ax, (i, j, r) in zip(axes.flat, pairs):
        ax.scatter(z_sample[:, i], z_sample[:, j], s=0.8, color="tab:blue", alpha=0.5, rasterized=True)
        ax.scatter(uniform_vectors[:, i], uniform_vectors[:, j], s=20, color="red", alpha=0.9)
        ax.scatter([special[i]], [special[j]], s=80, color="black")
        ax.scatter([special[i]], [special[j]], s=50, color="orange")
        ax.scatter([0], [0], s=100, color="black")
        ax.scatter([0], [0], s=60, color="yellow")
        ax.set_title(f"{i} - {j}: r = {r:+.2f}", fontsize=10)
        ax.set_xlabel(f"z[{i}]", fontsize=8)
        ax.set_ylabel(f"z[{j}]", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        f"Most correlated pairs: data (blue), uniform b={b:g} vectors (red), "
        f"vector {special_index} (orange), origin (yellow)",
        fontsize=12,
    )
    fig.tight_layout()
    return fig


def slice_scatter(z_sample, selected, components, *, threshold: float):
    """Vectors of the slice (all other components below ``threshold``) in the plane of two components."""
    i, j = components
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(z_sample[:, i], z_sample[:, j], s=1, color="lightgray", label="sample", rasterized=True)
    ax.scatter(z_sample[selected, i], z_sample[selected, j], s=8, color="tab:blue",
               label=f"slice ({len(selected)} vectors)")
    ax.scatter([0], [0], s=60, color="yellow", edgecolors="black", label="origin")
    ax.set_xlabel(f"z[{i}]")
    ax.set_ylabel(f"z[{j}]")
    ax.set_title(f"Slice: |z_k| < {threshold:g} for every k except {i} and {j}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
