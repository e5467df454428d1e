"""Stage `train`: fit the convolutional autoencoder on the training split."""

import argparse
import time

import keras
import numpy as np
from dvclive import Live

from latentspace import grids
from latentspace.io import atomic_path, load_npy, run_stage, save_json, save_png
from latentspace.model import ArchitectureConfig, build_autoencoder
from latentspace.params import load_params
from latentspace.splits import split_indices
from latentspace.training import (LiveLogger, UInt8Batches, compile_autoencoder, predict_in_batches, psnr,
                                  to_model_input)


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

    keras.utils.set_random_seed(t["seed"])
    cfg = ArchitectureConfig(
        image_size=images.shape[1], latent_dim=m["latent_dim"], filters=tuple(m["filters"]),
        kernel_sizes=tuple(m["kernel_sizes"]), strides=tuple(m["strides"]),
        batch_norm=m["batch_norm"], activation=m["activation"], dropout=m["dropout"],
    )
    model = build_autoencoder(cfg)
    compile_autoencoder(model, optimizer=t["optimizer"], learning_rate=t["learning_rate"], loss=t["loss"])

    train_batches = UInt8Batches(images, train_idx, t["batch_size"], rng=np.random.default_rng(t["seed"]),
                                 threads=t["loader_threads"])
    val_batches = UInt8Batches(images, val_idx, t["batch_size"], threads=t["loader_threads"])
    with Live(dir=args.live, dvcyaml=None, save_dvc_exp=False) as live:
        start = time.perf_counter()
        history = model.fit(
            train_batches, validation_data=val_batches, epochs=t["epochs"], verbose=2,
            callbacks=[LiveLogger(live, {"loss": "train/loss", "val_loss": "val/loss"})],
        )
        seconds = time.perf_counter() - start

    with atomic_path(args.model) as tmp:
        keras.saving.save_model(model, tmp)

    originals = images[val_idx]  # uint8
    recon = predict_in_batches(model, images, t["batch_size"], rows=val_idx)
    n_show = min(t["n_reconstructions"], len(val_idx))
    pairs = np.concatenate([originals[:n_show], grids.to_uint8(recon[:n_show])])  # originals above
    save_png(args.reconstructions, grids.tile(pairs, n_show, scale=grids.display_scale(images.shape[1], 96)))
    save_json(args.metrics, {
        "loss": float(history.history["loss"][-1]),
        "val_loss": float(history.history["val_loss"][-1]),
        "psnr_holdout_db": psnr(to_model_input(originals), recon),
        "epochs": t["epochs"],
        "n_train": int(len(train_idx)),
        "train_seconds": round(seconds, 1),
        "train_images_per_s": round(t["epochs"] * len(train_idx) / seconds, 1),
    })


if __name__ == "__main__":
    run_stage(main)
