"""``correlate:`` in params.yaml: the M-sample and exact correlations, the M-curve, the slice and the
pair scatter plots.
"""

from latentspace.params import (
    CHUNK, FLOAT_POS, LATENT_MAX, MAX_IMAGES, SAMPLE_MAX, SEED, UNIT, ListOf, Number, invalid,
)

SECTION = {
    "M": Number(int, 3, MAX_IMAGES),
    "seed": SEED,
    "thresholds": ListOf(UNIT),
    "pair_threshold": UNIT,
    "chunk_rows": CHUNK,
    "m_curve": ListOf(Number(int, 3, MAX_IMAGES), min_len=0),
    "slice": {
        "components": ListOf(Number(int, 0, LATENT_MAX - 1), min_len=2, max_len=2),
        "threshold": FLOAT_POS,
    },
    "scatter": {
        "max_pairs": Number(int, 1, 64),
        "b": FLOAT_POS,
        "n_uniform": Number(int, 0, SAMPLE_MAX),
        "special_index": Number(int, 0, MAX_IMAGES - 1),
        "seed": SEED,
    },
}

SWITCHED_OFF = {
    "m_curve": "the sample-size curve has one point, M = N",
    "scatter.n_uniform": "no uniform vectors are drawn beside the correlated pairs",
}


def check(p: dict) -> None:
    """Checks across keys; ``p`` is the whole validated params."""
    latent_dim = p["model"]["latent_dim"]
    c1, c2 = p["correlate"]["slice"]["components"]
    for i, c in enumerate((c1, c2)):
        if c >= latent_dim:
            raise invalid(f"correlate.slice.components[{i}]", c, f"must be < model.latent_dim ({latent_dim})")
    if c1 == c2:
        raise invalid("correlate.slice.components[1]", c2, "must differ from correlate.slice.components[0]: "
                      "the slice must name two different components")
