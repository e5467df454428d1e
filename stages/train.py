"""Stage `train`: fit the convolutional autoencoder on the training split."""

import argparse
import time

import keras
import numpy as np
from dvclive import Live

from latentspace import grids
from latentspace.io import atomic_path, load_npy, run_stage, save_json, save_png
from latentspace.distribution import distributed, set_precision
from latentspace.model import ArchitectureConfig
from latentspace.params import load_params
from latentspace.splits import split_indices
from latentspace.training import LiveLogger, predict_in_batches, psnr, to_model_input, train_autoencoder


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

    cfg = ArchitectureConfig(
        image_size=images.shape[1], latent_dim=m["latent_dim"], filters=tuple(m["filters"]),
        kernel_sizes=tuple(m["kernel_sizes"]), strides=tuple(m["strides"]),
        batch_norm=m["batch_norm"], activation=m["activation"], dropout=m["dropout"],
    )
    set_precision(t["precision"])
    with distributed(t["distribution"]) as replicas:
        with Live(dir=args.live, dvcyaml=None, save_dvc_exp=False) as live:
            start = time.perf_counter()
            model, history = train_autoencoder(
                cfg, images, train_idx, val_idx, seed=t["seed"], epochs=t["epochs"], batch_size=t["batch_size"],
                optimizer=t["optimizer"], learning_rate=t["learning_rate"], loss=t["loss"],
                loader_threads=t["loader_threads"], steps_per_execution=t["steps_per_execution"], verbose=2,
                callbacks=[LiveLogger(live, {"loss": "train/loss", "val_loss": "val/loss"})],
            )
            seconds = time.perf_counter() - start
        with atomic_path(args.model) as tmp:
            keras.saving.save_model(model, tmp)
        recon = predict_in_batches(model, images, t["batch_size"], rows=val_idx)

    originals = images[val_idx]  # uint8
    n_show = min(t["n_reconstructions"], len(val_idx))
    pairs = np.concatenate([originals[:n_show], grids.to_uint8(recon[:n_show])])  # originals above
    save_png(args.reconstructions, grids.tile(pairs, n_show, scale=grids.display_scale(images.shape[1], 96)))
    save_json(args.metrics, {
        "loss": float(history["loss"][-1]),
        "val_loss": float(history["val_loss"][-1]),
        "psnr_holdout_db": psnr(to_model_input(originals), recon),
        "epochs": t["epochs"],
        "n_train": int(len(train_idx)),
        "train_seconds": round(seconds, 1),
        "train_images_per_s": round(t["epochs"] * len(train_idx) / seconds, 1),
        "replicas": replicas,
    })


if __name__ == "__main__":
    run_stage(main)
