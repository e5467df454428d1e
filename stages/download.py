"""Stage `download`: obtain the raw dataset in CelebA's file format under --out."""

import argparse

from latentspace import synthetic
from latentspace.io import atomic_path, run_stage
from latentspace.params import invalid, load_params


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", required=True, help="directory to create")
    args = parser.parse_args()
    data = load_params(args.params)["data"]

    if data["source"] != "synthetic":
        raise invalid("data.source", data["source"], "not available yet; only 'synthetic' works in this "
                      "version (real CelebA and local folders are planned)")
    cfg = data["synthetic"]
    with atomic_path(args.out, directory=True) as tmp:
        synthetic.write_celeba_format(tmp, cfg["n_images"], seed=cfg["seed"], workers=cfg["workers"])


if __name__ == "__main__":
    run_stage(main)
