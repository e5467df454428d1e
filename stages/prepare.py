"""Stage `prepare`: centre-crop and resize every image of the archive into one uint8 array."""

import argparse
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import celeba_format, images
from latentspace.io import atomic_path, require_file, run_stage, save_csv
from latentspace.params import load_params
from latentspace.splits import first_fraction_split


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw", required=True, type=Path)
    parser.add_argument("--images", required=True)
    parser.add_argument("--index", required=True)
    args = parser.parse_args()
    p = load_params(args.params)["prepare"]

    with zipfile.ZipFile(require_file(args.raw / "img_align_celeba.zip", "the download stage")) as archive:
        names = images.image_members(archive)
        files = [Path(name).name for name in names]
        columns, annotations = celeba_format.read_annotations(args.raw, files)
        split = first_fraction_split(len(names), p["train_fraction"])
        n, size = len(names), p["image_size"]
        with atomic_path(args.images) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
            with tqdm(total=n, desc="prepare", unit="img") as bar:
                images.read_faces(archive, names, out, crop=p["crop"], progress=bar.update)
            out.flush()
            del out

    rows = ([f, s, *a] for f, s, a in zip(files, split, annotations))
    save_csv(args.index, ["image_id", "split", *columns], rows)


if __name__ == "__main__":
    run_stage(main)
