"""``evaluate:`` in params.yaml: each sampler setting's fidelity, diversity and memorisation against
held-out vectors.
"""

from latentspace.params import BATCH, BINS, IMAGE_SIZE_MAX, MAX_IMAGES, SAMPLE_MAX, SEED, Number

SECTION = {
    "n_reference": Number(int, 10, MAX_IMAGES),
    "k_precision": Number(int, 1, 64),
    "k_density": Number(int, 1, 64),
    "core_quantile": Number(float, 0, 1, low_open=True),
    "near_copy_quantile": Number(float, 0, 0.5, low_open=True),
    "bins": BINS,
    "seed": SEED,
    "batch_size": BATCH,
    # fid.n: decoded samples come from sample.n; image_size: InceptionV3 is trained at 299 px
    # bootstrap intervals: fewer than 20 replicates cannot place a 90% interval's ends
    "bootstrap": {"resamples": Number(int, 20, 10_000), "level": Number(float, 0.5, 0.999)},
    "fid": {"n": Number(int, 2, SAMPLE_MAX), "image_size": Number(int, 75, IMAGE_SIZE_MAX)},
}
