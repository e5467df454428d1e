"""Figures of the pipeline. Every function returns a matplotlib Figure and never shows it."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from latentspace import grids  # noqa: E402


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
        ``real`` and legend labels such as ``uniform b=1.5``.
    markers : dict of label -> x
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, dens in densities.items():
        style = dict(color="black", lw=2.5) if name == "real" else dict(lw=1.5)
        ax.plot(centres, dens, label=name, **style)
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


def sample_size_convergence(m, pairs, full_pairs, thresholds, max_abs, median_abs):
    """The series' M-sample correlation against the exact one as M grows: pair counts per
    threshold (the exact counts dashed) and the largest and typical |r_M - r|.

    Parameters
    ----------
    m : ndarray of shape (n_m,)
    pairs : ndarray of shape (n_m, n_thresholds)
    full_pairs : sequence of int, one per threshold
    max_abs, median_abs : ndarray of shape (n_m,)
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for k, (t, full) in enumerate(zip(thresholds, full_pairs)):
        line, = left.plot(m, np.maximum(pairs[:, k], 0.8), marker="o", ms=4, label=f"|r| > {t:g}")
        left.axhline(max(full, 0.8), color=line.get_color(), ls="--", lw=1)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("sample size M")
    left.set_ylabel("component pairs above the threshold")
    left.set_title("Pair counts on an M-sample (dashed: all vectors)")
    left.legend(fontsize=8)
    last = m < m[-1]  # the last size is all vectors, whose error is 0
    right.loglog(m[last], max_abs[last], marker="o", label="largest |r_M - r|")
    right.loglog(m[last], median_abs[last], marker="o", label="median |r_M - r|")
    if last.any():
        # sampling error of r near 0 is about 1/sqrt(M)
        right.loglog(m[last], 1 / np.sqrt(m[last]), color="gray", ls=":", label="1 / sqrt(M)")
    right.set_xlabel("sample size M")
    right.set_ylabel("error against the exact r")
    right.set_title(f"Error of the M-sample estimate (exact: all {m[-1]:,} vectors)")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _bare(ax):
    """An image axes without ticks or frame that still shows its y label (axis("off") hides it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def path_strips(images, *, row_labels, column_labels, title: str, xlabel: str, scale: int = 1):
    """Decoded paths, one path per row, its steps left to right.

    Parameters
    ----------
    images : ndarray of shape (n_paths, steps, H, W, 3), uint8
    row_labels : list of str, one per path (e.g. "axis 1 (18% of variance)")
    column_labels : list of str, one per step (e.g. "-3", "0", "+3" or "t = 0.5")
    scale : int
        Display magnification (e.g. ``grids.display_scale``), so small images stay legible.
    """
    n_paths, steps, h, w = images.shape[:4]
    pad = max(1, w // 16)
    # One tiled image in one axes: a grid of n_paths x steps axes made savefig take seconds.
    canvas = grids.tile(images.reshape(-1, h, w, images.shape[-1]), steps, pad=pad)
    # inches at the 100 dpi figures are saved with; margins fixed in inches for the labels
    grid_w, grid_h = canvas.shape[1] * scale / 100, canvas.shape[0] * scale / 100
    left, right, top, bottom = 2.4, 0.15, 0.85, 0.45
    fig = plt.figure(figsize=(left + grid_w + right, top + grid_h + bottom))
    ax = fig.add_axes((left / fig.get_figwidth(), bottom / fig.get_figheight(),
                       grid_w / fig.get_figwidth(), grid_h / fig.get_figheight()))
    ax.imshow(canvas, interpolation="nearest")
    _bare(ax)
    centre = lambda k, side: pad + k * (side + pad) + side / 2 - 0.5  # noqa: E731 (pixel centre of cell k)
    ax.xaxis.set_ticks_position("top")
    ax.set_xticks([centre(c, w) for c in range(steps)], column_labels, fontsize=9)
    ax.set_yticks([centre(r, h) for r in range(n_paths)], row_labels, fontsize=9)
    ax.tick_params(length=0)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_title(title, fontsize=11, pad=22)
    return fig


def nearest_distance_distributions(centres, densities: dict[str, np.ndarray], *, labels: dict[str, str],
                                   markers: dict[str, float] | None = None):
    """Densities of the distance to the nearest real vector: real vectors (to their nearest
    other real vector, bold black) and each sampler setting, on common bins.

    Parameters
    ----------
    centres : ndarray of shape (bins,)
    densities : dict of name -> ndarray of shape (bins,)
        ``real`` and one CSV-safe name per setting.
    labels : dict of name -> legend label
    markers : dict of label -> x, drawn as labelled vertical lines
    """
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for name, dens in densities.items():
        style = dict(color="black", lw=2.8, zorder=3) if name == "real" else dict(lw=1.5)
        ax.plot(centres, dens, label=labels.get(name, name), **style)
    for (label, x), style in zip((markers or {}).items(), ("--", ":", "-.")):
        ax.axvline(x, color="gray", ls=style, lw=1.5, label=label)
    ax.set_xlabel("Euclidean distance to the nearest real (training) vector")
    ax.set_ylabel("density")
    ax.set_title("Generated vectors vs. real ones: how far to the nearest real vector?\n"
                 "(left of the real curve: near-copies; far right: off the cloud)", fontsize=11)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def neighbour_examples(generated, neighbours, distances, *, generated_titles, neighbour_indices,
                       group_labels, near_copy, scale: int = 1):
    """Generated faces beside the decoded faces of their nearest real vectors.

    Parameters
    ----------
    generated : ndarray of shape (n_rows, H, W, 3), uint8
    neighbours : ndarray of shape (n_rows, k, H, W, 3), uint8
        Nearest first.
    distances : ndarray of shape (n_rows, k)
        Latent distance of each neighbour from the generated vector.
    generated_titles : list of str, one per row
    neighbour_indices : ndarray of shape (n_rows, k), int
        Rows of ``data/z.npy``, shown so a reader can find the training image.
    group_labels : list of str, one per row
        The sampler setting; shown on the first row of each run of equal labels.
    near_copy : ndarray of shape (n_rows,), bool
        Rows whose nearest distance is below the real vectors' near-copy threshold (red title).
    scale : int
        Display magnification of the images.
    """
    import textwrap

    n_rows, k, h, w = neighbours.shape[:4]
    cell = max(h, w) * scale / 100
    # One image per row (the generated face, a white gap, then its neighbours): one axes per
    # row instead of one per face keeps the layout solver and savefig fast for many rows.
    gap = max(1, w // 4)
    white = np.full((h, gap, 3), 255, np.uint8)
    seam = np.full((h, max(1, w // 16), 3), 255, np.uint8)
    starts = [0] + [w + gap + j * (w + seam.shape[1]) for j in range(k)]  # left edge of each face
    fig, axes = plt.subplots(n_rows, 1, squeeze=False, layout="constrained",
                             figsize=((k + 1.25) * cell * 1.07 + 2.4, n_rows * (cell + 0.42) + 0.8))
    for r in range(n_rows):
        ax = axes[r, 0]
        pieces = [generated[r], white]
        for j in range(k):
            pieces += [neighbours[r, j]] + ([seam] if j < k - 1 else [])
        ax.imshow(np.concatenate(pieces, axis=1), interpolation="nearest")
        _bare(ax)
        titles = [(generated_titles[r], "red" if near_copy[r] else "black")]
        titles += [(f"real #{neighbour_indices[r, j]}\nd = {distances[r, j]:.3g}", "black") for j in range(k)]
        for left, (text, color) in zip(starts, titles):
            ax.text(left + w / 2 - 0.5, -1.5, text, ha="center", va="bottom", fontsize=8, color=color)
        if r == 0 or group_labels[r] != group_labels[r - 1]:
            ax.set_ylabel(textwrap.fill(group_labels[r], 26), rotation=0, ha="right", va="center",
                          fontsize=9, fontweight="bold")
    fig.suptitle(f"Generated faces (left) and the decoded faces of their {k} nearest real vectors "
                 "(d: latent distance)\nred title: nearer than 95% of real vectors are to their nearest "
                 "other real vector (a near-copy)", fontsize=10)
    return fig


def normality_overview(components, axes, *, reference: float, n_vectors: int):
    """KS distance of each component and each principal axis from its fitted normal (top),
    and skewness vs excess kurtosis (bottom), with the directions the test rejects in red.

    Parameters
    ----------
    components, axes : normality.ColumnNormality (or any object with these attributes)
        ``ks_distance``, ``skewness``, ``excess_kurtosis``, ``normal`` (bool), each of shape
        (k,), and ``alpha``, ``test_size``.
    reference : float
        The KS distance a true normal sample of ``n_vectors`` points typically stays below.
    """
    fig, grid = plt.subplots(2, 2, figsize=(13, 8.5))
    verdict = f"test rejects normality (p <= {components.alpha:g}, n = {components.test_size})"
    for col, (result, what, xlabel, first) in enumerate(
            ((components, "component", "component index", 0), (axes, "principal axis", "axis rank", 1))):
        x = np.arange(len(result.ks_distance)) + first
        bad = ~result.normal
        top, bottom = grid[0, col], grid[1, col]
        top.scatter(x[~bad], result.ks_distance[~bad], s=12, color="tab:blue", label="test accepts normality")
        top.scatter(x[bad], result.ks_distance[bad], s=12, color="tab:red", label=verdict)
        top.axhline(reference, color="black", ls="--", lw=1,
                    label=f"99% of a true normal's KS, N = {n_vectors} (indicative: mean, std fitted)")
        top.set_yscale("log")
        top.set_xlabel(xlabel)
        top.set_ylabel("KS distance to the fitted normal")
        top.set_title(f"Each {what}: distance of its distribution from a normal")
        bottom.scatter(result.skewness[~bad], result.excess_kurtosis[~bad], s=12, color="tab:blue", alpha=0.8,
                       label="test accepts normality")
        bottom.scatter(result.skewness[bad], result.excess_kurtosis[bad], s=12, color="tab:red", alpha=0.8,
                       label=verdict)
        bottom.scatter([0], [0], s=120, marker="+", color="black", label="normal (0, 0)")
        bottom.axhline(0, color="gray", lw=0.6, ls=":")
        bottom.axvline(0, color="gray", lw=0.6, ls=":")
        bottom.set_xlabel("skewness")
        bottom.set_ylabel("excess kurtosis")
        bottom.set_title(f"Each {what}: shape of its distribution")
    lo = min(ax.get_ylim()[0] for ax in grid[0])
    hi = max(ax.get_ylim()[1] for ax in grid[0])
    for ax in grid[0]:
        ax.set_ylim(lo, hi)  # one scale, so components and axes compare at a glance
    # one legend for all panels, below them, so it never hides a point
    handles, labels = [], []
    for ax in grid.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.suptitle(f"How Gaussian is the latent cloud? ({n_vectors} vectors)", fontsize=13)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    return fig


def projection_grid(groups, *, sigmas, expected, columns: int = 4):
    """2-D projections of the cloud with the fitted normal's k-sigma ellipses and their coverage.

    Parameters
    ----------
    groups : list of list of dict
        Each group starts a new row of panels (e.g. correlated pairs, then principal planes).
        A panel has ``points`` (m, 2) (the vectors drawn), ``mean`` (2,), ``outlines`` (one
        (p, 2) curve per k), ``observed`` (fraction of all vectors inside each ellipse),
        ``title``, ``xlabel`` and ``ylabel``.
    sigmas, expected : sequence of float
        The k of each ellipse and the fraction a normal puts inside it.
    """
    groups = [g for g in groups if g]
    if not groups:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no projections requested (normality.pairs = normality.planes = 0)",
                ha="center", va="center")
        return fig
    columns = min(columns, max(len(g) for g in groups))
    layout = [g[s:s + columns] for g in groups for s in range(0, len(g), columns)]
    fig, axes = plt.subplots(len(layout), columns, figsize=(4.4 * columns, 5.6 * len(layout)), squeeze=False)
    colours = plt.cm.autumn(np.linspace(0, 0.8, len(sigmas)))
    for axes_row, row in zip(axes, layout):
        for ax in axes_row[len(row):]:
            ax.axis("off")
        for ax, panel in zip(axes_row, row):
            points = panel["points"]
            ax.scatter(points[:, 0], points[:, 1], s=1, color="tab:blue", alpha=0.15, lw=0, rasterized=True)
            for k, outline, seen, want, colour in zip(sigmas, panel["outlines"], panel["observed"], expected,
                                                      colours):
                ax.plot(outline[:, 0], outline[:, 1], color=colour, lw=1.6,
                        label=f"{k:g}\u03c3: {seen:.1%} inside (normal: {want:.1%})")
            ax.scatter([0], [0], s=60, color="yellow", edgecolors="black", zorder=3, label="origin")
            ax.scatter(*panel["mean"], s=40, marker="x", color="black", zorder=4, label="centre of the cloud")
            ax.set_title(panel["title"], fontsize=10)
            ax.set_xlabel(panel["xlabel"], fontsize=8)
            ax.set_ylabel(panel["ylabel"], fontsize=8)
            ax.tick_params(labelsize=7)
            # below the panel: the coverage is the point of the figure and must not hide the cloud
            ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    fig.suptitle("2-D projections with the fitted normal's k-sigma ellipses (coverage over all vectors)",
                 fontsize=12)
    fig.tight_layout()
    return fig


def attribute_heatmaps(r_components, components, r_axes, names):
    """Pearson r of latent components (left) and principal axes (right) with each attribute,
    on a diverging colour scale fixed to [-1, 1].

    Parameters
    ----------
    r_components : ndarray of shape (k, n_attributes)
        Rows of the components shown, strongest first.
    components : sequence of int, length k
        Their indices, labelled ``z[c]``.
    r_axes : ndarray of shape (k_axes, n_attributes)
        The leading principal axes, labelled ``axis 1`` ...
    names : sequence of str, length n_attributes
    """
    n_attr, rows = len(names), max(len(r_components), len(r_axes))
    fig, axes = plt.subplots(1, 2, figsize=(2 * (0.2 * n_attr + 1.5) + 1.5, 0.2 * rows + 3.2), squeeze=False,
                             layout="constrained")
    panels = ((r_components, [f"z[{c}]" for c in components], "latent component",
               "Latent components with the strongest attribute correlation"),
              (r_axes, [f"axis {k + 1}" for k in range(len(r_axes))], "principal axis", "Leading principal axes"))
    for ax, (r, labels, ylabel, title) in zip(axes[0], panels):
        im = ax.imshow(r, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(n_attr), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("attribute")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="Pearson r")
    fig.suptitle("What the latent components mean: correlation with the dataset's attributes", fontsize=12)
    return fig


def attribute_strips(panels, strengths):
    """Decoded real vectors moved along attribute directions: one image grid per direction,
    rows = faces, columns = the strengths ``s`` of ``z + s * d`` (``s = 0``: the face itself).

    Parameters
    ----------
    panels : list of (ndarray of shape (H, W, 3) uint8, str)
        Each direction's tiled grid (``len(strengths)`` columns of equal width) and its label.
    strengths : sequence of float
    """
    n_s = len(strengths)
    h, w = panels[0][0].shape[:2]
    fig, axes = plt.subplots(len(panels), 1, figsize=(w / 70 + 1, len(panels) * (h / 70 + 0.7) + 0.5),
                             squeeze=False, layout="constrained")
    for ax, (panel, label) in zip(axes[:, 0], panels):
        ax.imshow(panel, interpolation="nearest")
        ax.set_xticks((np.arange(n_s) + 0.5) * panel.shape[1] / n_s, [f"s = {s:g}" for s in strengths], fontsize=8)
        ax.tick_params(length=0)
        ax.set_yticks([])
        ax.set_ylabel("faces", fontsize=8)
        ax.set_title(label, fontsize=10)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle("Attribute directions d = mean(z | with) - mean(z | without): decoded z + s * d", fontsize=11)
    return fig


def attribute_note(message: str, *, title: str):
    """A figure that only says why there is nothing to show (e.g. a dataset without attributes)."""
    fig, ax = plt.subplots(figsize=(7, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=11)
    ax.set_title(title, fontsize=12)
    return fig


# metric key -> (panel title, the better direction); `frechet` and `ratio_to_real` are distances
SAMPLING_PANELS = {
    "in_core": ("in-core fraction (Mahalanobis)", "higher"),
    "precision": ("precision (k-NN balls)", "higher"),
    "recall": ("recall (k-NN balls)", "higher"),
    "density": ("density", "near the baseline"),
    "coverage": ("coverage", "higher"),
    "frechet": ("Fréchet distance", "lower"),
    "ratio_to_real": ("nearest training vector / held-out's", "near 1; << 1 copies"),
}


def sampling_summary(scores: dict, *, labels: dict[str, str], baseline: str, intervals: dict | None = None,
                     level: float | None = None):
    """Every quality metric of every sampler setting, with the real-vs-real baseline marked.

    Parameters
    ----------
    scores : dict of setting name -> dict of flat metric name -> float
        As ``evaluation.flat_scores`` gives them (``in_core``, ``latent_precision``...,
        ``reencoded_frechet``, ``ratio_to_real``...); ``baseline`` is one of the names.
    labels : dict of setting name -> text for the y axis
    baseline : str
        The baseline's name: drawn as vertical lines, not as a bar.
    intervals : dict of setting name -> dict of flat metric name -> (low, high), optional
        Drawn as error bars on the bars and as a band around the baseline's lines; flat names
        as in ``evaluation.flat_scores`` (``in_core``, ``latent_frechet``, ``ratio_to_real``...).
    level : float, optional
        The intervals' coverage, for the legend.
    """
    names = [n for n in scores if n != baseline]
    y = np.arange(len(names))[::-1]  # first setting on top
    # constrained layout keeps the figure's title clear of the panels' two-line titles
    fig, axes = plt.subplots(2, 4, figsize=(20, 2.2 + 0.34 * len(names) * 2), sharey=True, layout="constrained")
    for ax, (key, (title, better)) in zip(axes.flat, SAMPLING_PANELS.items()):
        if key in ("in_core", "ratio_to_real"):
            series = [(key, 0.0, "tab:blue", "--", 0.6, "latent", "real: training vectors")]
        else:
            series = [(f"latent_{key}", 0.2, "tab:blue", "--", 0.38, "latent", "real: training vectors"),
                      (f"reencoded_{key}", -0.2, "tab:orange", ":", 0.38, "re-encoded Enc(Dec(z))",
                       "real: training vectors, re-encoded")]
        for flat, offset, colour, style, height, label, real_label in series:
            _bars_with_intervals(ax, y + offset, [scores[n][flat] for n in names], names, flat,
                                 intervals, colour=colour, height=height, label=label)
            _baseline_line(ax, scores[baseline][flat], flat, (intervals or {}).get(baseline), colour="black"
                           if colour == "tab:blue" else "tab:red", style=style, label=real_label)
        if key == "frechet":
            ax.set_xscale("log")
        ax.set_title(f"{title}\n(better: {better})", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes.flat[0].set_yticks(y, [labels.get(n, n) for n in names], fontsize=8)
    axes.flat[4].set_yticks(y, [labels.get(n, n) for n in names], fontsize=8)
    handles, texts = axes.flat[1].get_legend_handles_labels()
    axes.flat[-1].axis("off")
    whiskers = "" if intervals is None else f"\nwhiskers, bands: {level:.0%} bootstrap intervals"
    axes.flat[-1].legend(handles, texts, loc="center", fontsize=10,
                         title=f"bars: samples; lines: baseline{whiskers}")
    fig.suptitle("Quality of each sampler setting against held-out real vectors "
                 "(lines: what real training vectors score)", fontsize=12)
    return fig


def _bars_with_intervals(ax, y, values, names, flat, intervals, *, colour, height, label):
    values = np.asarray(values, dtype=float)
    xerr = None
    if intervals is not None:
        low, high = np.array([intervals[n][flat] for n in names]).T
        xerr = np.clip([values - low, high - values], 0.0, None)  # a percentile interval may miss the value
    ax.barh(y, values, height=height, color=colour, label=label, xerr=xerr,
            error_kw={"ecolor": "#333", "elinewidth": 1, "capsize": 2})


def _baseline_line(ax, value, flat, interval, *, colour, style, label):
    ax.axvline(value, color=colour, ls=style, lw=1.5, label=label)
    if interval is not None:
        ax.axvspan(*interval[flat], color=colour, alpha=0.08, lw=0)


def radius_histograms(centres, densities: dict[str, np.ndarray], *, groups: dict[str, list[str]],
                      labels: dict[str, str], real: str, title: str, columns: int = 4):
    """One panel per sampler: the radius densities of its settings over the real one (grey).

    Parameters
    ----------
    centres : ndarray of shape (bins,)
    densities : dict of name -> ndarray of shape (bins,)
        ``real`` and every setting, on the common bins ``centres``.
    groups : dict of sampler -> list of setting names
    labels : dict of name -> legend text
    real : str
        Name of the real curve.
    """
    rows = max(1, math.ceil(len(groups) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.3 * rows), squeeze=False, sharex=True)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    width = centres[1] - centres[0] if len(centres) > 1 else 1.0
    for ax, (sampler, names) in zip(axes.flat, groups.items()):
        ax.fill_between(centres, densities[real], step="mid", color="0.75", label=labels.get(real, real))
        for name in names:
            ax.step(centres, densities[name], where="mid", lw=1.4, label=labels.get(name, name).split(", ")[-1])
        ax.set_title(sampler, fontsize=10)
        ax.set_xlim(centres[0] - width, centres[-1] + width)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=8)
    fig.supxlabel("radius |z| (Euclidean norm)", fontsize=10)
    fig.supylabel("density", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
