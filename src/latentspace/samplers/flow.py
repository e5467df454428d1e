"""A normalizing flow (RealNVP) fitted to the training vectors: an exact, invertible density."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from latentspace.samplers.base import LatentCloud
from latentspace.samplers.network import NetworkSampler, whitening_of


class NormalizingFlow(NetworkSampler):
    """z = f^-1(eps), eps ~ N(0, I): a RealNVP flow of ``layers`` affine couplings trained by
    maximum likelihood on the standardised training vectors (Dinh et al. 2017, "Density
    estimation using Real NVP").

    The couplings act on the whitened vectors (principal axes at unit variance, from the normal
    fitted to the rows it trains on; every direction kept, so the map stays invertible), and
    start as a permutation: the untrained flow is exactly that normal (with every training row,
    the ``normal`` sampler's), and training moves it only where the vectors depart from a normal. On the default latents
    (10,200 x 256), standardised per component only, 15 epochs scored held-out vectors at 68 nats
    per vector, below the normal's 84; whitened, 10 epochs score 118 in 60% of the time. Its
    fitted vectors score 17 nats more than held-out ones, and its draws (which score like the
    fitted vectors, 132) keep only about 0.73 of the vectors' variance along the widest axes
    (0.89 after one epoch): with this few vectors per dimension it learns its own vectors' shape.

    Each coupling keeps half the components (a fixed seeded permutation, or the other half of the
    previous layer's) and scales and shifts the rest by an MLP of the kept ones, so both the
    inverse and the Jacobian's determinant are exact. The density is therefore exact too:
    ``log p(x) = log N(f(x); 0, I) + log|det df/dx|``, scored on held-out vectors like the mixture's;
    pythae's MAF and IAF samplers fit flows to autoencoder latents in the same way. More layers
    follow a more curved cloud, and learn the fitted vectors more closely.

    Attributes
    ----------
    network_ : latentspace.samplers.flow_network.RealNVP
        Besides the inherited ones (rows_, shift_, scale_, loss_history_).
    """

    kind = "flow"
    param = "layers"
    description = "normalizing flow (RealNVP)"
    value_type = int
    # whitened, 8 layers of 64 units fit 10,200 x 256 vectors in ~10 s on 2 cores (TensorFlow); held-out
    # log-likelihood per epoch count, about: 5: 107, 8: 115, 10: 118, 15: 125 nats; 128 units at 5 epochs: 117
    defaults: ClassVar[dict[str, int | float]] = {**NetworkSampler.defaults, "epochs": 10, "hidden": 64}
    draw_chunk_rows: ClassVar[int] = 4096  # rows inverted at once: bounds the conditioners' memory

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        if cloud.latent_dim < 2:
            raise ValueError(f"{self.name}: a coupling flow needs latent_dim >= 2, got {cloud.latent_dim}")
        super()._fit(cloud, rng)

    def _build(self, latent_dim: int):
        """The RealNVP of ``layers`` couplings with ``hidden`` units; output each row's negative
        log-likelihood in nats (batch,)."""
        from latentspace.samplers.flow_network import RealNVP

        whitening, _ = whitening_of(self.standard_covariance_, keep_flat=True)
        return RealNVP(latent_dim, self.value, self.options["hidden"], whitening=whitening, name="realnvp")

    def _log_likelihood_standard(self, x: np.ndarray) -> np.ndarray:
        """Exact log density (nats) of each standardised row of x (n, latent_dim): shape (n,),
        float64 (computed in float32)."""
        import keras

        return keras.ops.convert_to_numpy(self.network_.log_density(x)).astype(np.float64)

    def _draw_standard(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """f^-1 of n draws of N(0, I): shape (n, latent_dim), float32."""
        import keras

        eps = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        chunks = [keras.ops.convert_to_numpy(self.network_.inverse(eps[start:start + self.draw_chunk_rows]))
                  for start in range(0, n, self.draw_chunk_rows)]
        return np.concatenate(chunks) if chunks else eps  # n = 0: eps is the empty (0, latent_dim)
