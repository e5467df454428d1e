"""Stage `sample`: statistical latent vectors, one array per sampler setting."""

import argparse
from pathlib import Path

import numpy as np

from latentspace import samplers
from latentspace.io import atomic_path, require_file, run_stage, save_json
from latentspace.params import load_params


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--component-stats", required=True, type=Path)
    parser.add_argument("--out", required=True, help="directory to create")
    args = parser.parse_args()
    p = load_params(args.params)["sample"]

    with np.load(require_file(args.component_stats, "the stats stage")) as comp:
        mu, hw = comp["mu"], comp["hw"]

    settings = samplers.settings_from_params(p)
    with atomic_path(args.out, directory=True) as tmp:
        manifest = []
        for s in settings:
            z = s.draw(samplers.setting_rng(p["seed"], s), p["n"], mu, hw)
            np.save(tmp / f"{s.name}.npy", z)
            manifest.append({"file": f"{s.name}.npy", "sampler": s.sampler, "value": s.value, "label": s.label})
        save_json(tmp / "manifest.json", manifest)


if __name__ == "__main__":
    run_stage(main)
