"""The shape and place of the latent cloud: principal axes and Mahalanobis distances.

The cloud is summarised by the normal distribution with its mean and covariance. Its
principal axes (PCA) give the explained-variance spectrum and the affine map to the
aligned frame, ``aligned = (z - mean) @ axes``; distances in the whitened frame
(Mahalanobis) say how far a point lies from the cloud's centre in units of the cloud's
own spread along each axis, so "inside the core" means the same in every direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentspace.correlation import mean_and_covariance
from latentspace.io import InputError, atomic_path, require_file


@dataclass(frozen=True)
class PrincipalAxes:
    """The fitted normal in its principal frame.

    Attributes
    ----------
    mean : ndarray of shape (latent_dim,)
    axes : ndarray of shape (latent_dim, latent_dim)
        Column k is the k-th principal direction (unit length), by decreasing variance;
        each column's sign makes its largest loading positive, so it is reproducible.
    variances : ndarray of shape (latent_dim,)
        Variance of the cloud along each axis, decreasing.
    """

    mean: np.ndarray
    axes: np.ndarray
    variances: np.ndarray

    @property
    def explained(self) -> np.ndarray:
        """Fraction of the total variance along each axis, shape (latent_dim,)."""
        return self.variances / self.variances.sum()

    def axes_for(self, fraction: float) -> int:
        """Fewest leading axes that together explain at least ``fraction`` of the variance."""
        return int(np.searchsorted(np.cumsum(self.explained), fraction - 1e-12) + 1)

    def aligned(self, z: np.ndarray) -> np.ndarray:
        """Coordinates of ``z`` (shape (n, latent_dim)) along the principal axes, float64."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.axes

    def mahalanobis(self, z: np.ndarray, *, chunk_rows: int = 65536) -> np.ndarray:
        """Mahalanobis distance of each row of ``z`` from the mean: ndarray of shape (n,).

        Axes with (numerically) no variance are floored at 1e-12 of the largest variance,
        so a point off a flat direction gets a huge, finite distance.
        """
        scale = np.sqrt(np.maximum(self.variances, 1e-12 * self.variances[0]))
        return np.concatenate([np.linalg.norm(self.aligned(z[s:s + chunk_rows]) / scale, axis=1)
                               for s in range(0, len(z), chunk_rows)])


def principal_axes(z: np.ndarray, *, chunk_rows: int = 16384) -> PrincipalAxes:
    """PCA of the rows of ``z`` from its streamed covariance (memory O(latent_dim^2)).

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map.
    """
    mean, cov = mean_and_covariance(z, chunk_rows=chunk_rows)
    variances, axes = np.linalg.eigh(cov)
    order = np.argsort(variances)[::-1]
    variances, axes = np.clip(variances[order], 0.0, None), axes[:, order]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    return PrincipalAxes(mean, axes * np.where(signs == 0, 1.0, signs), variances)


def top_loadings(axes: np.ndarray, n_axes: int, per_axis: int) -> list[tuple[int, int, int, float]]:
    """The original components that weigh most in each leading axis.

    Returns
    -------
    rows : list of (axis, rank, component, loading)
        For each of the first ``n_axes`` axes, its ``per_axis`` largest |loadings|.
    """
    rows = []
    for a in range(min(n_axes, axes.shape[1])):
        for rank, c in enumerate(np.argsort(-np.abs(axes[:, a]))[:per_axis]):
            rows.append((a, rank, int(c), float(axes[c, a])))
    return rows


def fraction_within(distances: np.ndarray, radius: float) -> float:
    """Fraction of ``distances`` (shape (n,)) that are <= ``radius``."""
    return float(np.mean(distances <= radius))


def save_principal_axes(path, pca: PrincipalAxes) -> None:
    """Write ``pca`` as ``.npz`` (mean, axes, variances): the affine map to the aligned frame."""
    with atomic_path(path) as tmp:
        np.savez(tmp, mean=pca.mean, axes=pca.axes, variances=pca.variances)


def load_principal_axes(path, latent_dim: int) -> PrincipalAxes:
    """The geometry stage's principal axes, checked against ``latent_dim``."""
    path = require_file(path, "the geometry stage")
    try:
        with np.load(path, allow_pickle=False) as f:
            pca = PrincipalAxes(f["mean"], f["axes"], f["variances"])
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path}: not principal axes with mean, axes and variances ({exc})") from None
    d = latent_dim
    if pca.mean.shape != (d,) or pca.axes.shape != (d, d) or pca.variances.shape != (d,):
        raise InputError(f"{path}: expected mean ({d},), axes ({d}, {d}) and variances ({d},) for latent_dim {d}, "
                         f"got {pca.mean.shape}, {pca.axes.shape}, {pca.variances.shape}; re-run geometry (dvc repro)")
    return pca
