"""Points between a real vector and one of its nearest real neighbours ("micro-correlations")."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from latentspace.neighbours import nearest_real
from latentspace.params import invalid
from latentspace.samplers.base import LatentCloud, Sampler


class Neighbourhood(Sampler):
    """z = x + t * (y - x): a step from a real vector towards one of its k nearest real neighbours.

    The series' open question of "micro-correlations": the cloud may hold fine structure
    that no global density (box, normal, mixture) captures, but that the neighbourhood of
    real vectors does. The anchor x is a training vector drawn uniformly, y one of its k
    nearest *other* training vectors (drawn uniformly among the k), ``t ~ U(0, t_max)``;
    ``t_max = 1`` reaches the neighbour, small ``t_max`` stays near real faces (copies).
    Exact neighbours, found for the n anchors only.
    """

    kind = "neighbourhood"
    param = "t_max"
    description = "towards one of the k nearest real vectors"
    value_max = 1.0
    defaults: ClassVar[dict[str, int]] = {"k": 5}

    @property
    def label(self) -> str:
        """E.g. ``towards one of the 5 nearest real vectors, t_max = 0.5``."""
        return f"towards one of the {self.options['k']} nearest real vectors, t_max = {self.value:g}"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        if self.options["k"] >= len(cloud.z):
            raise invalid(self.key("k"), self.options["k"],
                          f"must be < the {len(cloud.z)} training vectors (neighbours exclude the anchor)")
        self.z = cloud.z  # a memory map stays one: draw reads the rows it needs

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k = self.options["k"]
        anchors = rng.integers(len(self.z), size=n)
        pick = rng.integers(k, size=n)
        t = rng.uniform(0.0, self.value, size=(n, 1))
        x = np.asarray(self.z[anchors], dtype=np.float64)
        _, neighbours = nearest_real(self.z, x, k=k, exclude=anchors)
        y = np.asarray(self.z[neighbours[np.arange(n), pick]], dtype=np.float64)
        return x + t * (y - x)
