"""Stage `report`: the series as a generated report, README.md for the forge and one offline index.html.

Every number comes from metrics/, plots/ and dvclive/; every finding is written from them by the
rules of latentspace.report. No Keras, no matplotlib: the stage takes well under a second.
"""

import argparse
from pathlib import Path

from latentspace import report
from latentspace.io import atomic_path, run_stage
from latentspace.params import load_params


def save_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--metrics", required=True, type=Path, help="metrics directory")
    parser.add_argument("--plots", required=True, type=Path, help="plots directory")
    parser.add_argument("--live", required=True, type=Path, help="dvclive directory of the train stage")
    parser.add_argument("--out", required=True, type=Path, help="report directory (README.md, index.html)")
    args = parser.parse_args()
    params = load_params(args.params)
    settings = report.Settings(
        latent_dim=params["model"]["latent_dim"],
        hw_factor=params["stats"]["dominant"]["hw_factor"],
        mu_factor=params["stats"]["dominant"]["mu_factor"],
        pair_threshold=params["correlate"]["pair_threshold"],
        core_quantile=params["geometry"]["core_quantile"],
        alpha=params["normality"]["alpha"],
        test_size=params["normality"]["test_size"],
        sampler_core_quantile=params["evaluate"]["core_quantile"],
        interval_level=params["evaluate"]["bootstrap"]["level"],
    )

    inputs, png = report.read_inputs(args.metrics, args.plots, args.live)
    document = report.build_document(inputs, settings)
    save_text(args.out / "README.md", report.render_markdown(document, args.out))
    save_text(args.out / "index.html", report.render_html(document, png))


if __name__ == "__main__":
    run_stage(main)
