"""Stage `sample`: new latent vectors from every sampler setting of params `sample`, one array each,
with a manifest that says which sampler and value made each file."""

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspace import samplers
from latentspace.geometry import load_principal_axes
from latentspace.io import InputError, atomic_path, load_latents, require_file, run_stage, save_json
from latentspace.params import load_params


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--z", required=True, help="training vectors the samplers are fitted to")
    parser.add_argument("--component-stats", required=True, type=Path)
    parser.add_argument("--pca", required=True, type=Path)
    parser.add_argument("--out", required=True, help="directory to create")
    args = parser.parse_args()
    p = load_params(args.params)["sample"]

    z = load_latents(args.z)
    with np.load(require_file(args.component_stats, "the stats stage"), allow_pickle=False) as comp:
        stats = {key: comp[key] for key in ("mu", "hw", "mean", "std")}
    if any(v.shape != (z.shape[1],) for v in stats.values()):
        raise InputError(f"{args.component_stats}: mu, hw, mean, std must have shape ({z.shape[1]},) like the "
                         f"vectors of {args.z}; re-run the stats stage (dvc repro)")
    pca = load_principal_axes(args.pca, z.shape[1])
    cloud = samplers.LatentCloud(z=z, pca=pca, **stats)

    settings = samplers.settings_from_params(p)
    with atomic_path(args.out, directory=True) as tmp:
        manifest = []
        for s in tqdm(settings, desc="sampler settings", unit="setting", file=sys.stderr):
            vectors = samplers.draw_setting(s, cloud, seed=p["seed"], n=p["n"])
            np.save(tmp / f"{s.name}.npy", vectors)
            manifest.append({"file": f"{s.name}.npy", "sampler": s.kind, "value": s.value, "label": s.label})
        save_json(tmp / "manifest.json", manifest)


if __name__ == "__main__":
    run_stage(main)
