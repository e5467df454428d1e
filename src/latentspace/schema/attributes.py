"""``attributes:`` in params.yaml: attribute correlations and directions, and the pixel judge that scores them."""

from latentspace.params import BATCH, CHUNK, MAX_IMAGES, SEED, ListOf, Number, Text

SECTION = {
    "chunk_rows": CHUNK,
    "heatmap_rows": Number(int, 1, 128),
    "directions": ListOf(Text(allow_empty=False), min_len=0, max_len=16),
    # multiples of the with-minus-without difference: a few already saturate the faces
    "strengths": ListOf(Number(float, -1000, 1000), max_len=15),
    "faces": Number(int, 1, 16),
    "seed": SEED,
    "judge": {"n_train": Number(int, 20, MAX_IMAGES), "n_test": Number(int, 20, MAX_IMAGES)},
    "batch_size": BATCH,
}

SWITCHED_OFF = {"directions": "no attribute direction is decoded, and no pixel judge is fitted"}
