"""``geometry:`` in params.yaml: principal axes, Mahalanobis distances and the core."""

from latentspace.params import BINS, CHUNK, DRAWN, FLOAT_POS, LATENT_MAX, SEED, ListOf, Number

SECTION = {
    "chunk_rows": CHUNK,
    "core_quantile": Number(float, 0, 1, low_open=True),
    "variance_targets": ListOf(Number(float, 0, 1, low_open=True)),
    "uniform": {"b": ListOf(FLOAT_POS, min_len=0), "n": DRAWN, "seed": SEED},
    "top_axes": Number(int, 1, LATENT_MAX),  # at most one per principal axis
    "loadings_per_axis": Number(int, 1, LATENT_MAX),
    "bins": BINS,
}

SWITCHED_OFF = {"uniform.b": "no uniform cloud is placed against the Mahalanobis distances"}
