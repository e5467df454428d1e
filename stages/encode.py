"""Stage `encode`: latent vectors of the training and held-out images."""

import argparse
from pathlib import Path

from tqdm import tqdm

from latentspace.io import InputError, atomic_path, load_npy, run_stage, save_npy
from latentspace.model import load_part
from latentspace.params import load_params
from latentspace.splits import split_indices
from latentspace.training import predict_in_batches


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--images", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--z", required=True)
    parser.add_argument("--z-holdout", required=True)
    args = parser.parse_args()
    batch_size = load_params(args.params)["encode"]["batch_size"]

    images = load_npy(args.images, mmap=True, ndim=4)
    train_idx, holdout_idx = split_indices(args.index, len(images))
    encoder = load_part(args.model, "encoder")
    if tuple(encoder.input_shape[1:]) != images.shape[1:]:
        raise InputError(f"{args.images}: images of shape {images.shape[1:]} do not fit the "
                         f"encoder's input {tuple(encoder.input_shape[1:])}; retrain (dvc repro)")

    # Both files are renamed into place together at the end, so they always come from one model.
    with tqdm(total=len(images), desc="encode", unit="img") as bar, \
            atomic_path(args.z) as tmp_z, atomic_path(args.z_holdout) as tmp_holdout:
        for rows, out in ((train_idx, tmp_z), (holdout_idx, tmp_holdout)):
            save_npy(out, predict_in_batches(encoder, images, batch_size, rows=rows, progress=bar.update))


if __name__ == "__main__":
    run_stage(main)
