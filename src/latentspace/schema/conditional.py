"""``conditional:`` in params.yaml: faces drawn with or without chosen attributes by a sampler fitted
to each class, judged in pixels and scored against held-out vectors of the class."""

from latentspace.params import BATCH, MAX_IMAGES, SAMPLE_MAX, SEED, Choice, ListOf, Number, Text, invalid
from latentspace.samplers import SAMPLERS

SECTION = {
    "attributes": ListOf(Text(allow_empty=False), min_len=0, max_len=16),
    "sampler": Choice(tuple(SAMPLERS)),
    # the sampler's swept param; its own bounds (an integer k, t_max <= 1) are checked below
    "value": Number(float, 0, 100, low_open=True),
    "n": Number(int, 2, SAMPLE_MAX),
    "faces": Number(int, 1, 16),
    "seed": SEED,
    "judge": {"n_train": Number(int, 20, MAX_IMAGES), "n_test": Number(int, 20, MAX_IMAGES)},
    "batch_size": BATCH,
    "k_precision": Number(int, 1, 64),
    "k_density": Number(int, 1, 64),
}

SWITCHED_OFF = {"attributes": "no face is drawn or judged: the outputs are empty"}


def check(p: dict) -> None:
    """Checks across keys; ``p`` is the whole validated params."""
    c = p["conditional"]
    kind, value = c["sampler"], c["value"]
    cls = SAMPLERS[kind]
    if cls.value_type is int and not value.is_integer():
        raise invalid("conditional.value", value, f"must be an integer for sampler '{kind}' (its {cls.param})")
    if cls.value_max is not None and value > cls.value_max:
        raise invalid("conditional.value", value,
                      f"must be <= {cls.value_max:g} for sampler '{kind}' (its {cls.param})")
    k = max(c["k_precision"], c["k_density"])
    if c["n"] <= k:
        raise invalid("conditional.n", c["n"], f"must be > conditional.k_precision and k_density ({k}): "
                      "recall and coverage need k neighbours among the draws")
    if c["faces"] > c["n"]:
        raise invalid("conditional.faces", c["faces"],
                      f"must be <= conditional.n ({c['n']}): the faces shown are draws")
    for i, name in enumerate(c["attributes"]):
        if name in c["attributes"][:i]:
            raise invalid(f"conditional.attributes[{i}]", name, "is listed twice")
