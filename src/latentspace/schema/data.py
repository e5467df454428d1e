"""``data:`` in params.yaml: where the faces come from: synthetic, real CelebA (mirrors) or a folder;
bounds on an image archive.
"""

from latentspace.params import (
    FLOAT_POS, MAX_MEMBERS, SEED, SYNTHETIC_MAX, WORKERS_MAX, Choice, ListOf, MirrorSpec, Number, Text,
    invalid,
)

SECTION = {
    "source": Choice(("synthetic", "celeba", "folder")),
    "synthetic": {"n_images": Number(int, 2, SYNTHETIC_MAX), "seed": SEED, "workers": Number(int, 1, WORKERS_MAX)},
    "celeba": {
        "download_dir": Text(allow_empty=False),
        "mirrors": {key: ListOf(MirrorSpec()) for key in ("images", "partition", "attributes")},
    },
    "folder": {"path": Text()},
    # Bounds on an image archive (a zip bomb or a mistaken path stops here, before any decoding)
    "archive": {"max_members": Number(int, 1, MAX_MEMBERS), "max_total_gib": FLOAT_POS},
}


def check(p: dict) -> None:
    """Checks across keys; ``p`` is the whole validated params."""
    if p["data"]["source"] == "folder" and not p["data"]["folder"]["path"]:
        raise invalid("data.folder.path", p["data"]["folder"]["path"], "must name img_align_celeba.zip, a folder "
                      "holding it or img_align_celeba/, or any folder or zip of JPEG/PNG faces when data.source is "
                      "'folder'")
