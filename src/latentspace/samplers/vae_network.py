"""The second-stage VAE of :mod:`.vae` as backend-agnostic Keras 3: an encoder, a decoder and
the layer that turns their outputs into each row's negative ELBO."""

from __future__ import annotations

import math

import keras
from keras import layers, ops

LOG_2PI = math.log(2.0 * math.pi)


class GaussianNegativeElbo(layers.Layer):
    """Each row's single-draw negative ELBO (nats), holding the two learned variances.

    Weights: ``log_gamma`` (scalar; the decoder's noise level gamma, initially 1, the
    standardised vectors' own spread) and ``log_prior_var`` (code_dim,; the prior's variance
    s^2 of each code component, initially 1).

    ``-ELBO = |x - m|^2 / (2 gamma^2) + d log gamma + d/2 log(2 pi)
    + 1/2 sum_j ((mu_j^2 + sigma_j^2) / s_j^2 - 1 - log sigma_j^2 + log s_j^2)``: the Gaussian
    decoder's negative log-likelihood of ``x`` at one code drawn from q(u|x), plus the
    closed-form KL divergence of q(u|x) = N(mu, diag sigma^2) from the prior N(0, diag s^2).

    Parameters
    ----------
    code_dim : int
        The code's dimension u.
    """

    def __init__(self, code_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.code_dim = code_dim
        self.log_gamma = self.add_weight(shape=(), initializer="zeros", name="log_gamma")
        self.log_prior_var = self.add_weight(shape=(code_dim,), initializer="zeros", name="log_prior_var")

    def call(self, inputs):
        """``inputs = [x, m, mu, log_var]``: x, m of shape (batch, d); mu, log_var of shape
        (batch, code_dim). Returns shape (batch,)."""
        x, m, mu, log_var = inputs
        d = ops.cast(ops.shape(x)[-1], x.dtype)
        squared_error = ops.sum(ops.square(x - m), axis=-1)
        reconstruction = 0.5 * squared_error * ops.exp(-2.0 * self.log_gamma) + d * (self.log_gamma + 0.5 * LOG_2PI)
        kl = 0.5 * ops.sum((ops.square(mu) + ops.exp(log_var)) * ops.exp(-self.log_prior_var)
                           - 1.0 - log_var + self.log_prior_var, axis=-1)
        return reconstruction + kl

    def get_config(self):
        return {**super().get_config(), "code_dim": self.code_dim}


def _relu_trunk(inputs, hidden: int, name: str):
    """Two ReLU layers of ``hidden`` units, as the RAE authors' (Ghosh et al. 2020) second-stage VAE
    code has (2 x 1024 there)."""
    h = layers.Dense(hidden, activation="relu", name=f"{name}_hidden_0")(inputs)
    return layers.Dense(hidden, activation="relu", name=f"{name}_hidden_1")(h)


def _nonlinear_plus_linear(inputs, trunk, out_dim: int, name: str):
    """A linear output of the ReLU ``trunk`` plus a linear map of ``inputs``: the linear path
    learns the vectors' mostly-Gaussian structure (a probabilistic PCA) in a few epochs, the
    ReLU path what bends away from it."""
    return layers.Dense(out_dim, name=name)(trunk) + layers.Dense(out_dim, name=f"{name}_linear")(inputs)


def build_encoder(data_dim: int, code_dim: int, hidden: int) -> keras.Model:
    """(batch, data_dim) -> [mu, log_var], each (batch, code_dim): q(u|x) = N(mu, diag exp(log_var))."""
    x = keras.Input((data_dim,), name="x")
    h = _relu_trunk(x, hidden, "encoder")
    mu = _nonlinear_plus_linear(x, h, code_dim, "encoder_mu")
    log_var = layers.Dense(code_dim, name="encoder_log_var")(h)
    return keras.Model(x, [mu, log_var], name="encoder")


def build_decoder(data_dim: int, code_dim: int, hidden: int) -> keras.Model:
    """(batch, code_dim) -> m(u) of shape (batch, data_dim): the decoder's mean."""
    u = keras.Input((code_dim,), name="u")
    m = _nonlinear_plus_linear(u, _relu_trunk(u, hidden, "decoder"), data_dim, "decoder_mean")
    return keras.Model(u, m, name="decoder")


def build_vae(data_dim: int, code_dim: int, hidden: int) -> keras.Model:
    """The trained network: inputs ``[x (batch, data_dim), eps (batch, code_dim)]``, output each
    row's negative ELBO (batch,). The code is reparameterised as u = mu + sigma * eps with the
    noise ``eps`` an input, so the caller's numpy generator is its only source. Its layers
    ``encoder``, ``decoder`` and ``negative_elbo`` (holding ``log_gamma`` and
    ``log_prior_var``) are reachable with ``get_layer``.
    """
    x = keras.Input((data_dim,), name="x")
    eps = keras.Input((code_dim,), name="eps")
    mu, log_var = build_encoder(data_dim, code_dim, hidden)(x)
    u = mu + ops.exp(0.5 * log_var) * eps
    m = build_decoder(data_dim, code_dim, hidden)(u)
    loss = GaussianNegativeElbo(code_dim, name="negative_elbo")([x, m, mu, log_var])
    return keras.Model([x, eps], loss, name="second_stage_vae")
