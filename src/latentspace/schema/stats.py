"""``stats:`` in params.yaml: per-component statistics, dominant components, radii against uniform boxes."""

from latentspace.params import BINS, DRAWN, FLOAT_POS, LATENT_MAX, SEED, ListOf, Number

SECTION = {
    "bin_width": FLOAT_POS,
    "dominant": {"hw_factor": FLOAT_POS, "mu_factor": FLOAT_POS},
    "radius": {
        "b": ListOf(FLOAT_POS),
        "n_uniform": DRAWN,
        "bins": BINS,
        "seed": SEED,
    },
    "max_histograms": Number(int, 1, LATENT_MAX),  # at most one per component
}
