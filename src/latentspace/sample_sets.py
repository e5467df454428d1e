"""The sample stage's output as later stages read it: one array of generated vectors per
sampler setting, listed in ``manifest.json`` with the sampler and a human label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentspace.io import InputError, load_json, load_latents


@dataclass(frozen=True)
class SampleSet:
    """The vectors of one sampler setting.

    Attributes
    ----------
    file : str
        File name in the samples directory, e.g. ``intervals_fact_01.00.npy``.
    sampler : str
        The sampler's kind (its params section), e.g. ``intervals``.
    label : str
        Legend text, e.g. ``uniform [mu - fact*hw, mu + fact*hw], fact = 1``.
    vectors : ndarray of shape (n, latent_dim)
    param : str
        The sampler's swept parameter, e.g. ``fact`` ("" in manifests that do not say).
    value : float or int or None
        Its value in this setting.
    """

    file: str
    sampler: str
    label: str
    vectors: np.ndarray
    param: str = ""
    value: float | int | None = None

    @property
    def column(self) -> str:
        """Name of this setting in CSV columns and metric keys, see :func:`column_name`."""
        return column_name(self.file)

    @property
    def setting(self) -> str:
        """Short name in tables and legends, see :func:`setting_name`."""
        return setting_name(self.sampler, self.param, self.value)

    @property
    def keys(self) -> list:
        """This setting's :data:`SETTING_KEYS` values."""
        return setting_keys(self.sampler, self.param, self.value)


# The columns that say which setting a row of a long-format table is about
SETTING_KEYS = ("setting", "sampler", "param", "value")


def setting_name(sampler: str, param: str = "", value=None) -> str:
    """``intervals fact=1.5``: the sampler and its swept value, or the sampler alone without one."""
    return sampler if not param or value is None else f"{sampler} {param}={value:g}"


def setting_keys(sampler: str, param: str = "", value=None) -> list:
    """One row's :data:`SETTING_KEYS` values."""
    return [setting_name(sampler, param, value), sampler, param, value]


def column_name(file: str) -> str:
    """CSV- and metric-safe name of a sample file: its stem with every character other than
    a letter, digit or ``_`` replaced by ``_`` (``uniform_b_01.50.npy`` -> ``uniform_b_01_50``),
    since Vega-Lite behind ``dvc plots`` reads a dot as a nested field."""
    return re.sub(r"[^0-9A-Za-z_]", "_", Path(file).stem)


def load_sample_sets(directory: str | Path, latent_dim: int) -> list[SampleSet]:
    """Every setting listed in ``directory/manifest.json``, in manifest order.

    Raises :class:`InputError` for a missing or empty manifest, an entry without ``file``,
    ``sampler`` or ``label``, an array not of shape (n >= 1, latent_dim), or two files whose
    column names collide (or equal ``real`` or ``baseline``, which the reports use).
    """
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    manifest = load_json(manifest_path, "the sample stage")
    if not isinstance(manifest, list) or not manifest:
        raise InputError(f"{manifest_path}: must be a non-empty list of sampler settings")
    sets = []
    for entry in manifest:
        if not isinstance(entry, dict) or not {"file", "sampler", "label"} <= set(entry):
            raise InputError(f"{manifest_path}: every entry needs 'file', 'sampler' and 'label', got {entry!r}")
        vectors = load_latents(directory / entry["file"], mmap=False, latent_dim=latent_dim)
        sets.append(SampleSet(entry["file"], entry["sampler"], entry["label"], vectors,
                              entry.get("param", ""), entry.get("value")))
    names = [s.column for s in sets]
    if len(set(names) | {"real", "baseline"}) != len(names) + 2:
        raise InputError(f"{manifest_path}: file names {names} must give distinct columns other than "
                         "'real' and 'baseline'")
    settings = [s.setting for s in sets]  # the series and row names of the plot data
    if len(set(settings) | {"real"}) != len(settings) + 1:
        raise InputError(f"{manifest_path}: sampler, param and value must name each setting once and none "
                         f"'real', got {settings}")
    return sets
