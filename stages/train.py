"""Stage `train`: fit the convolutional autoencoder on the training split.

After every epoch the training state goes to `train.backup_dir` (outside the outputs, which
DVC deletes before a run), keyed by the params and the data; a run that was killed resumes
from its last finished epoch and ends with the same weights.
"""

import argparse
import time
import warnings

import numpy as np

from latentspace import grids
from latentspace.io import after_commit, atomic_path, load_npy, run_stage, save_metrics, save_png
from latentspace.params import at_most, load_params, warn_switched_off
from latentspace.splits import split_indices


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--images", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--reconstructions", required=True)
    parser.add_argument("--live", required=True, help="dvclive directory")
    args = parser.parse_args()
    params = load_params(args.params)
    m, t = params["model"], params["train"]
    warn_switched_off("train", t)

    images = load_npy(args.images, mmap=True, ndim=4)
    train_idx, holdout_idx = split_indices(args.index, len(images))
    val_idx = holdout_idx[: at_most("train.validation_images", t["validation_images"], len(holdout_idx),
                                    f"held-out images in {args.index}")]
    # Larger than the training images: one step per epoch on all of them, told, not refused
    batch_size = at_most("train.batch_size", t["batch_size"], len(train_idx), f"training images in {args.index}")
    n_show = at_most("train.n_reconstructions", t["n_reconstructions"], len(val_idx), "validation images")

    # Keras starts TensorFlow, which logs on import: only once params and inputs passed their checks
    import keras
    from dvclive import Live

    from latentspace.distribution import distributed, set_deterministic, set_precision
    from latentspace.model import ArchitectureConfig, save_model
    from latentspace.training import (EpochBackup, LiveLogger, NonFiniteLoss, mean_image, predict_in_batches, psnr,
                                      reconstruction_loss, to_model_input, train_autoencoder)

    cfg = ArchitectureConfig(
        image_size=images.shape[1], latent_dim=m["latent_dim"], filters=tuple(m["filters"]),
        kernel_sizes=tuple(m["kernel_sizes"]), strides=tuple(m["strides"]),
        batch_norm=m["batch_norm"], activation=m["activation"], dropout=m["dropout"],
    )
    set_deterministic(t["deterministic"])
    set_precision(t["precision"])
    # Everything that shapes the weights names the backup; where it lives does not.
    run = {"model": m, "train": {k: v for k, v in t.items() if k not in ("backup_dir", "fail_if_trivial")},
           "backend": keras.backend.backend()}
    backup = EpochBackup.for_run(t["backup_dir"], run, files=[args.images, args.index])
    done, earlier = backup.completed()
    if done:
        print(f"train: resuming after epoch {done} of {t['epochs']} from {backup.directory}", flush=True)
    with distributed(t["distribution"]) as replicas:
        with atomic_path(args.live, directory=True) as live_dir, \
                Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False) as live:
            logger = LiveLogger(live, {"loss": "train/loss", "val_loss": "val/loss"})
            logger.replay(earlier)
            start = time.perf_counter()
            try:
                model, history = train_autoencoder(
                    cfg, images, train_idx, val_idx, seed=t["seed"], epochs=t["epochs"], batch_size=batch_size,
                    optimizer=t["optimizer"], learning_rate=t["learning_rate"], lr_schedule=t["lr_schedule"],
                    loss=t["loss"], loader_threads=t["loader_threads"], steps_per_execution=t["steps_per_execution"],
                    bn_recalibration_images=t["bn_recalibration_images"], verbose=2,
                    backup=backup, callbacks=[logger],
                )
            except NonFiniteLoss as exc:
                # Resuming would replay the same steps into the same NaN: the backup goes too.
                backup.clear()
                raise ValueError(diverged(exc, t)) from None
            seconds = time.perf_counter() - start
        save_model(model, args.model)
        recon = predict_in_batches(model, images, batch_size, rows=val_idx)

    if not np.isfinite(recon).all():  # weights that overflow: every later stage would get NaN vectors
        backup.clear()
        raise ValueError(broken_outputs(t))
    originals = images[val_idx]  # uint8
    held_out = to_model_input(originals)
    # The trivial model: every face reconstructed as the mean training face. A training that
    # does no better learned nothing (a saturated output, a diverging optimizer).
    trivial_db = psnr(held_out, np.broadcast_to(mean_image(images, train_idx), held_out.shape))
    psnr_db = psnr(held_out, recon)
    if psnr_db <= trivial_db:
        message = no_better_than_mean(psnr_db, trivial_db, t)
        if t["fail_if_trivial"]:
            raise ValueError(message + " (train.fail_if_trivial: true); no model was kept")
        warnings.warn(message, stacklevel=1)
    pairs = np.concatenate([originals[:n_show], grids.to_uint8(recon[:n_show])])  # originals above
    save_png(args.reconstructions, grids.tile(pairs, n_show, scale=grids.display_scale(images.shape[1], 96)))
    # How long it took, on how many replicas, after which resumed epoch: the log, not the metrics,
    # whose bytes depend on the params and seed only (`git status` after `make repro` proves it).
    trained = t["epochs"] - done
    rate = f" ({trained * len(train_idx) / seconds:.0f} img/s)" if trained else ""
    print(f"train: {trained} epoch(s) in {seconds:.1f} s{rate} on {replicas} replica(s)"
          f"{f', resumed after epoch {done}' if done else ''}", flush=True)
    save_metrics(args.metrics, {
        # not "loss": the metric train.loss would share its name with the param (the loss function)
        "train_loss": float(history["loss"][-1]),
        # the saved model's, after BatchNorm's recalibration (the fit's last is in dvclive/metrics.json)
        "val_loss": reconstruction_loss(t["loss"], held_out, recon),
        "psnr_holdout_db": psnr_db,
        "mean_image_psnr_db": trivial_db,
    })
    after_commit(backup.clear)  # only once the outputs are in place: a kill before still resumes


def diverged(exc, t: dict) -> str:
    """The one-line error of a training whose loss became NaN or infinite."""
    causes = [f"train.learning_rate = {t['learning_rate']:g} too high for train.optimizer {t['optimizer']}"]
    if t["loss"] == "binary_crossentropy":
        causes.append("train.loss binary_crossentropy on saturated outputs (try mse)")
    if t["precision"] != "float32":
        causes.append(f"train.precision {t['precision']} overflowing (try float32)")
    return (f"train: the training loss became {exc.value} at epoch {exc.epoch}, step {exc.step}; no model was "
            f"written and the epoch backup was cleared. Likely causes: {'; '.join(causes)}")


def broken_outputs(t: dict) -> str:
    """The one-line error of a trained model whose reconstructions are not finite."""
    after = (f" after BatchNorm's recalibration on train.bn_recalibration_images = {t['bn_recalibration_images']}"
             if t["bn_recalibration_images"] else "")
    return (f"train: the trained model reconstructs held-out faces as NaN or infinity{after}; no model was written "
            f"and the epoch backup was cleared. Likely causes: train.learning_rate = {t['learning_rate']:g} too "
            f"high for train.optimizer {t['optimizer']} (weights that overflow)")


def no_better_than_mean(psnr_db: float, trivial_db: float, t: dict) -> str:
    """The warning (or error) of a training that ends no better than the mean training face."""
    return (f"train: the model reconstructs held-out faces no better than the mean training face does "
            f"(PSNR {psnr_db:.2f} dB against {trivial_db:.2f} dB): it learned nothing. Likely causes: "
            f"train.learning_rate = {t['learning_rate']:g} too high for train.optimizer {t['optimizer']} "
            f"(a saturated output), or too few train.epochs ({t['epochs']})")


if __name__ == "__main__":
    run_stage(main)
