"""The series' outline: which question each part answers and which of dvc.yaml's plots answer it.

One list serves every view of the results: the order and headings of the `dvc plots show` page
(``latentspace.plots_page``), and the sections of the generated report (``latentspace.report``).
``tests/test_dvc_yaml.py`` checks that the plots of the sections, in order, are exactly the
``plots:`` of dvc.yaml, so a plot cannot be added to one view and forgotten in the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One part of the series.

    Attributes
    ----------
    key : str
        Short identifier, e.g. ``"components"`` (HTML anchors, report lookups).
    title : str
        Heading, e.g. ``"II. Each component's distribution"``.
    question : str
        The question the section answers, one sentence.
    plots : tuple of str
        dvc.yaml plot ids, in order: a curve's title, or an image's or a folder's path.
    """

    key: str
    title: str
    question: str
    plots: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section("autoencoder", "I. The autoencoder",
            "How well does a plain autoencoder reconstruct faces it has not seen?",
            ("Training loss per epoch", "plots/reconstructions.png")),
    Section("components", "II. Each component's distribution",
            "How is each latent component distributed, and which components dominate?",
            ("Per-component peak mu, half-width hw and std", "plots/dominant_histograms.png",
             "Radius of real and uniform [-b, b] vectors", "plots/radii.png")),
    Section("correlations", "III. Correlations between components",
            "Which components move together, and does a sample of M vectors count the pairs right?",
            ("Pairs with |r| above a threshold", "Error of the M-sample correlation against all vectors",
             "plots/sample_size.png", "plots/correlation_heatmap.png", "plots/correlated_pairs.png",
             "plots/slice.png")),
    Section("centre", "IV. Where the cloud sits",
            "Is the cloud centred on the origin, and where do uniform vectors land relative to its core?",
            ("Mahalanobis distance of real and uniform [-b, b] vectors", "plots/mahalanobis.png")),
    Section("paths", "V-VI. Paths through the core",
            "What do faces look like along straight lines through the cloud?",
            ("plots/paths",)),
    Section("intervals", "VII. New vectors from per-component intervals",
            "Do vectors drawn component by component decode into faces?",
            ("plots/decoded_overview.png", "plots/decoded")),
    Section("normality", "VIII. A multivariate normal?",
            "Is the cloud a tilted multivariate normal distribution?",
            ("KS distance to a normal, per component", "KS distance to a normal, per principal axis",
             "plots/normality.png", "plots/projections.png")),
    Section("axes", "IX-X. The main axes",
            "How many principal axes carry the variance of the cloud?",
            ("Explained variance along the principal axes", "plots/pca_spectrum.png")),
    Section("attributes", "What the components mean",
            "Which attributes of a face do components and principal axes follow?",
            ("plots/attribute_heatmap.png", "plots/attribute_directions.png")),
    Section("neighbours", "New faces or copies?",
            "How near do generated vectors come to training vectors?",
            ("Distance to the nearest real vector", "plots/neighbours.png", "plots/neighbour_examples.png")),
    Section("samplers", "Which sampler makes the best new faces?",
            "Which recipe's vectors are closest to held-out faces, after a decode and re-encode?",
            ("plots/sampling.png", "Share of samples in the real core",
             "Frechet distance of re-encoded samples to held-out encodings",
             "Precision of re-encoded samples against held-out encodings",
             "Recall of re-encoded samples against held-out encodings",
             "Radius of the vectors of each sampler", "plots/sampling_radii.png")),
    Section("conditional", "Faces with a chosen attribute",
            "Does a sampler fitted to the faces with an attribute draw faces that show it?",
            ("plots/conditional.png",)),
)


def plot_ids() -> list[str]:
    """Every plot id of every section, in order (what dvc.yaml's ``plots:`` must list)."""
    return [plot for section in SECTIONS for plot in section.plots]
