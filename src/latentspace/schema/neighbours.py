"""``neighbours:`` in params.yaml: nearest real vectors of generated ones (near-copies)."""

from latentspace.params import BATCH, BINS, MAX_IMAGES, SEED, Number

SECTION = {
    "k": Number(int, 1, 16),
    "n_real": Number(int, 2, MAX_IMAGES),
    "examples": Number(int, 1, 16),
    "bins": BINS,
    "seed": SEED,
    "batch_size": BATCH,
}
