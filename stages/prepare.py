"""Stage `prepare`: centre-crop and resize every image of the archive into one uint8 array."""

import argparse
import csv
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import celeba_format, images
from latentspace.io import InputError, atomic_path, run_stage, save_csv
from latentspace.params import load_params


def read_annotations(raw: Path, names: list[str]):
    """Partition, attributes and (synthetic only) generating factors, aligned with ``names``."""
    base = [Path(n).name for n in names]
    part_files, partition = celeba_format.read_partition_file(raw / "list_eval_partition.txt")
    attr_names, attr_files, attrs = celeba_format.read_attr_file(raw / "list_attr_celeba.txt")
    for what, files in (("list_eval_partition.txt", part_files), ("list_attr_celeba.txt", attr_files)):
        if list(files) != base:
            raise InputError(f"{raw / what}: its file names do not match the images of the archive")
    columns, values = ["partition", *attr_names], [partition[:, None], attrs]
    factors = raw / "factors.csv"
    if factors.exists():
        with open(factors, newline="") as f:
            rows = list(csv.reader(f))
        columns += rows[0][1:]
        values.append(np.array([r[1:] for r in rows[1:]], dtype=object))
    return columns, np.concatenate([v.astype(object) for v in values], axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw", required=True, type=Path)
    parser.add_argument("--images", required=True)
    parser.add_argument("--index", required=True)
    args = parser.parse_args()
    p = load_params(args.params)["prepare"]

    zip_path = args.raw / "img_align_celeba.zip"
    if not zip_path.is_file():
        raise InputError(f"{zip_path}: missing; run the download stage first")
    with zipfile.ZipFile(zip_path) as archive:
        names = images.image_members(archive)
        columns, annotations = read_annotations(args.raw, names)
        n, size = len(names), p["image_size"]
        n_train = int(np.floor(p["train_fraction"] * n))
        if not 1 <= n_train < n:
            raise InputError(
                f"prepare.train_fraction = {p['train_fraction']}: leaves {n_train} training and "
                f"{n - n_train} held-out images of {n}; both must be at least 1"
            )
        with atomic_path(args.images) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
            with tqdm(total=n, desc="prepare", unit="img") as bar:
                images.read_faces(archive, names, out, crop=p["crop"], progress=bar.update)
            out.flush()
            del out

    split = np.where(np.arange(n) < n_train, "train", "holdout")
    rows = ([Path(name).name, s, *a] for name, s, a in zip(names, split, annotations))
    save_csv(args.index, ["image_id", "split", *columns], rows)


if __name__ == "__main__":
    run_stage(main)
