"""Stage `sample`: statistical latent vectors, one array per sampler setting."""

import argparse
from pathlib import Path

import numpy as np

from latentspace import samplers
from latentspace.io import InputError, atomic_path, run_stage, save_json
from latentspace.params import load_params


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--component-stats", required=True, type=Path)
    parser.add_argument("--out", required=True, help="directory to create")
    args = parser.parse_args()
    p = load_params(args.params)["sample"]

    if not args.component_stats.is_file():
        raise InputError(f"{args.component_stats}: missing; run the stats stage first")
    with np.load(args.component_stats) as comp:
        mu, hw = comp["mu"], comp["hw"]

    settings = samplers.settings_from_params(p)
    with atomic_path(args.out, directory=True) as tmp:
        manifest = []
        for s in settings:
            rng = samplers.setting_rng(p["seed"], s)
            if s.sampler == "uniform":
                z = samplers.uniform_box(rng, p["n"], len(mu), s.value)
            else:
                z = samplers.uniform_intervals(rng, p["n"], mu, hw, s.value)
            np.save(tmp / f"{s.name}.npy", z)
            manifest.append({"file": f"{s.name}.npy", "sampler": s.sampler, "value": s.value, "label": s.label})
        save_json(tmp / "manifest.json", manifest)


if __name__ == "__main__":
    run_stage(main)
