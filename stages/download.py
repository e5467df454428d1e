"""Stage `download`: the raw dataset under --out, in CelebA's file format.

`synthetic` renders the faces into --out. `celeba` downloads CelebA into
`data.celeba.download_dir` (verified, resumable) and `folder` takes a local copy; for both,
--out gets the annotation tables and `source.json`, which says where the images are, so the
1.4 GB of images is neither copied nor cached twice.
"""

import argparse
import os
from pathlib import Path

from latentspace import celeba_format, sources, synthetic
from latentspace.fetch import fetch, mirrors_from_params
from latentspace.io import atomic_path, run_stage
from latentspace.params import at_most, load_params

CELEBA_FILES = {"images": sources.CELEBA_ZIP, "partition": celeba_format.PARTITION_FILE,
                "attributes": celeba_format.ATTR_FILE}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", required=True, help="directory to create")
    args = parser.parse_args()
    data = load_params(args.params)["data"]
    source = data["source"]

    if source == "celeba":
        folder = Path(data["celeba"]["download_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        for key, name in CELEBA_FILES.items():
            fetch(name, mirrors_from_params(data["celeba"]["mirrors"][key]), folder,
                  kind="zip" if key == "images" else "text")
    elif source == "folder":
        folder = Path(data["folder"]["path"])

    with atomic_path(args.out, directory=True) as tmp:
        if source == "synthetic":
            cfg = data["synthetic"]
            workers = at_most("data.synthetic.workers", cfg["workers"], os.cpu_count() or 1, "CPU cores")
            synthetic.write_celeba_format(tmp, cfg["n_images"], seed=cfg["seed"], workers=workers)
            # inside --out, so DVC tracks the archive itself: no fingerprint needed
            found = sources.Located(sources.ImageSource("zip", sources.CELEBA_ZIP), "celeba zip",
                                    cfg["n_images"], {})
        else:
            found = sources.locate(folder, limits=sources.ArchiveLimits(**data["archive"]))
            celeba_format.write_normalised(found.annotations, tmp)
        sources.write_manifest(tmp, found.images, source=source, layout=found.layout, n_images=found.n_images,
                               annotations=sorted(found.annotations))


if __name__ == "__main__":
    run_stage(main)
