"""Stage `train`: fit the convolutional autoencoder on the training split.

After every epoch the training state goes to `train.backup_dir` (outside the outputs, which
DVC deletes before a run), keyed by the params and the data; a run that was killed resumes
from its last finished epoch and ends with the same weights.
"""

import argparse
import time

import numpy as np

from latentspace import grids
from latentspace.io import after_commit, atomic_path, load_npy, run_stage, save_metrics, save_png
from latentspace.params import load_params
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

    images = load_npy(args.images, mmap=True, ndim=4)
    train_idx, holdout_idx = split_indices(args.index, len(images))
    val_idx = holdout_idx[: t["validation_images"]]

    # Keras starts TensorFlow, which logs on import: only once params and inputs passed their checks
    import keras
    from dvclive import Live

    from latentspace.distribution import distributed, set_deterministic, set_precision
    from latentspace.model import ArchitectureConfig, save_model
    from latentspace.training import (EpochBackup, LiveLogger, predict_in_batches, psnr, to_model_input,
                                      train_autoencoder)

    cfg = ArchitectureConfig(
        image_size=images.shape[1], latent_dim=m["latent_dim"], filters=tuple(m["filters"]),
        kernel_sizes=tuple(m["kernel_sizes"]), strides=tuple(m["strides"]),
        batch_norm=m["batch_norm"], activation=m["activation"], dropout=m["dropout"],
    )
    set_deterministic(t["deterministic"])
    set_precision(t["precision"])
    # Everything that shapes the weights names the backup; where it lives does not.
    run = {"model": m, "train": {k: v for k, v in t.items() if k != "backup_dir"}, "backend": keras.backend.backend()}
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
            model, history = train_autoencoder(
                cfg, images, train_idx, val_idx, seed=t["seed"], epochs=t["epochs"], batch_size=t["batch_size"],
                optimizer=t["optimizer"], learning_rate=t["learning_rate"], lr_schedule=t["lr_schedule"], loss=t["loss"],
                loader_threads=t["loader_threads"], steps_per_execution=t["steps_per_execution"],
                bn_recalibration_images=t["bn_recalibration_images"], verbose=2,
                backup=backup, callbacks=[logger],
            )
            seconds = time.perf_counter() - start
        save_model(model, args.model)
        recon = predict_in_batches(model, images, t["batch_size"], rows=val_idx)

    originals = images[val_idx]  # uint8
    n_show = min(t["n_reconstructions"], len(val_idx))
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
        "val_loss": float(history["val_loss"][-1]),
        "psnr_holdout_db": psnr(to_model_input(originals), recon),
    })
    after_commit(backup.clear)  # only once the outputs are in place: a kill before still resumes


if __name__ == "__main__":
    run_stage(main)
