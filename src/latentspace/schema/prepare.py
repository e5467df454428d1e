"""``prepare:`` in params.yaml: decoding, cropping and resizing the images; the training / held-out split."""

from latentspace.params import (
    CROP_MAX, FLOAT_MAX, IMAGE_SIZE_MAX, MAX_IMAGES, PILLOW_MAX_PIXELS, UNIT, WORKERS_MAX, Choice, CountOrFraction,
    Number, OrNull,
)

SECTION = {
    "crop": Number(int, 8, CROP_MAX),
    "image_size": Number(int, 8, IMAGE_SIZE_MAX),
    "reducing_gap": OrNull(Number(float, 1, FLOAT_MAX), "full-resolution decoding"),
    "split": {"method": Choice(("first", "official")), "train_size": CountOrFraction(MAX_IMAGES)},
    "workers": Number(int, 1, WORKERS_MAX),
    "max_bad_fraction": UNIT,
    "max_image_pixels": Number(int, 64 * 64, PILLOW_MAX_PIXELS),
}
