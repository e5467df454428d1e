"""``normality:`` in params.yaml: normality tests of components, principal axes and 2-D projections."""

from latentspace.params import CHUNK, DRAWN, MAX_IMAGES, SEED, ListOf, Number

SECTION = {
    "test_size": Number(int, 20, MAX_IMAGES),
    "alpha": Number(float, 0, 1, low_open=True),
    "seed": SEED,
    "chunk_rows": CHUNK,
    "pairs": Number(int, 0, 16),
    "planes": Number(int, 0, 16),
    "sigmas": ListOf(Number(float, 0, 10, low_open=True), max_len=5),
    "max_points": DRAWN,
}

SWITCHED_OFF = {
    "pairs": "no component-pair projection is drawn",
    "planes": "no principal plane is drawn (the plane of axes 1-2 still feeds the metrics)",
}
