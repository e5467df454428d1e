"""``decode:`` in params.yaml: the grids of decoded samples."""

from latentspace.params import BATCH, GRID_MAX, Number

SECTION = {"columns": Number(int, 1, GRID_MAX), "rows": Number(int, 1, GRID_MAX), "batch_size": BATCH}
