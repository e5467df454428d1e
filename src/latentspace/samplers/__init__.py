"""Statistical latent vectors: every recipe ("sampler") behind one interface, and its registry.

A *setting* is one sampler with one value of its swept parameter, e.g. ``intervals`` with
``fact = 1.5``. The ``sample`` section of params.yaml lists the values of each sampler;
:func:`settings_from_params` turns it into settings and :func:`draw_setting` draws one
setting's vectors with a generator that depends on the seed and that setting only.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from latentspace.params import invalid
from latentspace.samplers.base import LatentCloud, Sampler
from latentspace.samplers.diffusion import LatentDiffusion
from latentspace.samplers.flow import NormalizingFlow
from latentspace.samplers.gaussian import IndependentGaussian
from latentspace.samplers.intervals import UniformIntervals, uniform_intervals
from latentspace.samplers.kde import KernelDensity
from latentspace.samplers.mixture import ChosenMixture, GaussianMixture
from latentspace.samplers.neighbourhood import Neighbourhood
from latentspace.samplers.normal import MultivariateNormal
from latentspace.samplers.principal_axes import PrincipalAxesSampler
from latentspace.samplers.uniform import UniformBox, uniform_box
from latentspace.samplers.vae import SecondStageVAE

__all__ = [
    "SAMPLERS", "LatentCloud", "Sampler", "draw_setting", "setting_rng", "settings_from_params",
    "uniform_box", "uniform_intervals", "UniformBox", "UniformIntervals", "IndependentGaussian",
    "MultivariateNormal", "PrincipalAxesSampler", "GaussianMixture", "ChosenMixture", "KernelDensity",
    "NormalizingFlow", "SecondStageVAE", "LatentDiffusion", "Neighbourhood",
]

# kind -> class, from the blind box to the data-hugging neighbourhood (the order of the outputs)
SAMPLERS: dict[str, type[Sampler]] = {cls.kind: cls for cls in (
    UniformBox, UniformIntervals, IndependentGaussian, MultivariateNormal, PrincipalAxesSampler,
    GaussianMixture, ChosenMixture, KernelDensity, NormalizingFlow, SecondStageVAE,
    LatentDiffusion, Neighbourhood,
)}


def settings_from_params(sample_params: dict) -> list[Sampler]:
    """All settings of the ``sample`` section: by kind (``SAMPLERS`` order), then by increasing value.

    Parameters
    ----------
    sample_params : dict
        The validated ``sample`` section: for each kind, a mapping with the list of swept
        values under the kind's ``param`` and its options under the other keys. A kind
        that is missing, or whose list is empty, is off; repeated values count once.

    Returns
    -------
    settings : list of Sampler, unfitted
    """
    settings = []
    for kind, cls in SAMPLERS.items():
        section = sample_params.get(kind)
        if section is None:
            continue
        if cls.param not in section:
            raise invalid(f"sample.{kind}", section, f"must have the list '{cls.param}'")
        options = {key: value for key, value in section.items() if key != cls.param}
        kind_settings = [cls(value, **options) for value in sorted(set(section[cls.param]))]
        # two values closer than the name's precision (0.01) would write the same file
        for a, b in itertools.pairwise(kind_settings):
            if a.name == b.name:
                raise invalid(cls.key(), section[cls.param],
                              f"values {a.value:g} and {b.value:g} both give the file name {a.name}; "
                              "make them differ by at least 0.01")
        settings += kind_settings
    return settings


def setting_rng(seed: int, sampler: Sampler) -> np.random.Generator:
    """A generator that depends on the seed and the setting only, not on list order,
    so adding a value to a params list leaves the other settings' vectors unchanged."""
    return np.random.default_rng([seed, zlib.crc32(sampler.name.encode())])


def draw_setting(sampler: Sampler, cloud: LatentCloud, *, seed: int, n: int) -> np.ndarray:
    """Fit ``sampler`` to ``cloud`` and draw ``n`` vectors, all from :func:`setting_rng`.

    Returns
    -------
    z : ndarray of shape (n, cloud.latent_dim), float32
    """
    rng = setting_rng(seed, sampler)
    sampler.fit(cloud, rng)
    return sampler.draw(rng, n)
