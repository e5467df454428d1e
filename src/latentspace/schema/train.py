"""``train:`` in params.yaml: the training run: optimiser, schedule, precision, BatchNorm
recalibration, the epoch backup.
"""

from latentspace.params import (
    BATCH, DISTRIBUTIONS, EPOCHS_MAX, FLOAT_POS, IMAGES, LR_SCHEDULES, MAX_IMAGES, PRECISIONS, SEED, Boolean,
    Choice, Number, Text,
)

SECTION = {
    "seed": SEED,
    "epochs": Number(int, 1, EPOCHS_MAX),
    "batch_size": BATCH,
    "optimizer": Choice(("adam", "adamw", "rmsprop", "sgd")),
    "learning_rate": FLOAT_POS,
    "lr_schedule": Choice(LR_SCHEDULES),
    "loss": Choice(("mse", "mae", "binary_crossentropy")),
    "loader_threads": Number(int, 1, 64),
    "validation_images": IMAGES,
    "n_reconstructions": Number(int, 1, 32),
    "precision": Choice(PRECISIONS),
    "distribution": Choice(DISTRIBUTIONS),
    "steps_per_execution": Number(int, 1, 10_000),
    "deterministic": Boolean(),
    "bn_recalibration_images": Number(int, 0, MAX_IMAGES),
    "fail_if_trivial": Boolean(),  # a model no better than the mean training face: error, not warning
    "backup_dir": Text(allow_empty=False),
}

SWITCHED_OFF = {"bn_recalibration_images": "BatchNorm keeps the moving statistics of the training steps "
                                           "(docs/scaling.md, \"Training defaults\")"}
