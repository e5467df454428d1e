"""``encode:`` in params.yaml: encoding every image into a latent vector."""

from latentspace.params import BATCH

SECTION = {"batch_size": BATCH}
