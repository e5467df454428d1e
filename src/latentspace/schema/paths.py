"""``paths:`` in params.yaml: decoded paths along principal axes, dominant components and between two faces."""

from latentspace.params import BATCH, FLOAT_POS, SEED, Number

SECTION = {
    "axes": Number(int, 0, 32),
    "components": Number(int, 0, 32),
    "extent": FLOAT_POS,
    "steps": Number(int, 2, 25),
    "interpolation": {"pairs": Number(int, 0, 32), "steps": Number(int, 2, 25), "seed": SEED},
    "batch_size": BATCH,
}

SWITCHED_OFF = {
    "axes": "no principal-axis path is decoded",
    "components": "no component path is decoded",
    "interpolation.pairs": "no interpolation is decoded",
}
