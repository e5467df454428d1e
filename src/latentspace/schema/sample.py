"""``sample:`` in params.yaml: the sampler settings: one file of new latent vectors per listed value."""

from latentspace.params import BATCH_MAX, EM_ITER_MAX, EPOCHS_MAX, FILTERS_MAX, FLOAT_POS, MAX_IMAGES, SAMPLE_MAX, SEED, ListOf, Number, invalid


def network(swept: str, most: int) -> dict:
    """A network sampler's keys (latentspace.samplers.network): its swept integer and the training options."""
    return {swept: ListOf(Number(int, 1, most), min_len=0), "fit_rows": Number(int, 2, MAX_IMAGES),
            "epochs": Number(int, 1, EPOCHS_MAX), "batch_size": Number(int, 2, BATCH_MAX),
            "hidden": Number(int, 1, FILTERS_MAX), "learning_rate": Number(float, 0, 1, low_open=True)}


SECTION = {
    "seed": SEED,
    "n": Number(int, 2, SAMPLE_MAX),
    "score_rows": Number(int, 1, MAX_IMAGES),
    "uniform": {"b": ListOf(FLOAT_POS, min_len=0)},
    "intervals": {"fact": ListOf(FLOAT_POS, min_len=0)},
    "gaussian": {"scale": ListOf(FLOAT_POS, min_len=0)},
    "normal": {"scale": ListOf(FLOAT_POS, min_len=0)},
    "principal_axes": {"truncation": ListOf(FLOAT_POS, min_len=0)},
    "mixture": {"k": ListOf(Number(int, 1, 100), min_len=0), "fit_rows": Number(int, 2, MAX_IMAGES),
                "max_iter": Number(int, 1, EM_ITER_MAX)},
    "mixture_chosen": {"k_max": ListOf(Number(int, 1, 100), min_len=0), "fit_rows": Number(int, 3, MAX_IMAGES),
                       "max_iter": Number(int, 1, EM_ITER_MAX), "validation_rows": Number(int, 1, MAX_IMAGES),
                       "standard_errors": Number(float, 0, 100, low_open=True)},
    "kde": {"bandwidth": ListOf(FLOAT_POS, min_len=0), "fit_rows": Number(int, 2, MAX_IMAGES)},
    "flow": network("layers", 64),
    "vae": network("latent_dim", 4096),
    "diffusion": network("steps", 10_000),
    "neighbourhood": {"t_max": ListOf(Number(float, 0, 1, low_open=True), min_len=0), "k": Number(int, 1, 64)},
}

# an empty list turns its sampler off
SWITCHED_OFF = {f"{kind}.{key}": f"the {kind} sampler is off" for kind, keys in SECTION.items()
                if isinstance(keys, dict) for key, spec in keys.items() if isinstance(spec, ListOf)}


def check(p: dict) -> None:
    """Checks across keys; ``p`` is the whole validated params."""
    sample = p["sample"]
    if not any(sample[kind][key] for kind, key in (name.split(".") for name in SWITCHED_OFF)):
        raise invalid("sample", "(every list empty)", "must list at least one sampler setting")
