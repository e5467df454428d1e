"""The RealNVP flow of :mod:`.flow` as backend-agnostic Keras 3: a stack of affine couplings that
maps a row to its negative log-likelihood, and back from the base normal to a row."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

LOG_2PI = math.log(2.0 * math.pi)
LOG_SCALE_BOUND = 2.0  # one coupling scales a component by at most e^2 either way: no overflow early in training
ORDER_SEED = 20170101  # the couplings' permutations are part of the architecture, the same for every fit


def coupling_orders(latent_dim: int, n_layers: int) -> list[np.ndarray | None]:
    """The permutation each coupling applies to its input, shape (latent_dim,) int32, or None.

    Even layers shuffle the components with a fixed seeded permutation, so that components far
    apart condition each other. Odd layers take their input as it comes: a coupling puts the
    components it kept last, so the next one transforms them (every component is transformed at
    least once in every pair of layers), and a permutation of its own (a gather, whose gradient is
    a quarter of a training step's time on a CPU) would add little.
    """
    return [None if i % 2 else np.random.default_rng([ORDER_SEED, i]).permutation(latent_dim).astype("int32")
            for i in range(n_layers)]


def uniform_init(fan_in: int, fan_out: int):
    """Glorot's uniform initialiser for a stack of (fan_in, fan_out) kernels (Keras' own would
    count the stack into the fans)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return keras.initializers.RandomUniform(-limit, limit)


class RealNVP(keras.Model):
    """A fixed whitening followed by a stack of affine couplings, mapping a row x to u = f(x),
    with base density N(0, I): ``log p(x) = log N(f(x); 0, I) + log|det df/dx|`` (Dinh et al.
    2017). Its output, what training minimises, is each row's negative log-likelihood in nats,
    shape (batch,).

    The whitening ``w = x @ whitening`` (not trained) makes the untrained flow the normal whose
    covariance it whitens, so the couplings learn only how the vectors depart from it. Coupling i permutes its input by ``orders_[i]`` (if not None), cuts it into ``(a, b)`` after
    ``latent_dim // 2`` components, and returns ``(b * exp(s(a)) + t(a), a)``. ``s`` and ``t``
    come from one MLP on ``a`` (two ReLU layers of ``hidden`` units); the log-scale is
    soft-clamped, ``s = B tanh(raw / B)`` with ``B = LOG_SCALE_BOUND``. The MLP's last layer starts
    at zero, so the untrained couplings are a permutation (Glow's initialisation). The couplings'
    weights are stacked along a first axis of length ``n_layers``: six variables in all, not six
    per coupling, which makes tracing the optimizer's update several times faster.

    Parameters
    ----------
    latent_dim : int
        At least 2: a coupling conditions half the components on the other half.
    n_layers, hidden : int
    whitening : ndarray of shape (latent_dim, latent_dim), optional
        Invertible; the identity when omitted.
    """

    def __init__(self, latent_dim: int, n_layers: int, hidden: int, whitening: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.half = latent_dim, latent_dim // 2
        whitening = np.eye(latent_dim) if whitening is None else np.asarray(whitening, dtype=np.float64)
        self.whitening_log_det = float(np.linalg.slogdet(whitening)[1])  # log|det dw/dx|, a constant
        for name, matrix in (("whitening", whitening), ("colouring", np.linalg.inv(whitening))):
            setattr(self, name, self.add_weight(shape=matrix.shape, initializer=keras.initializers.Constant(
                matrix.astype(np.float32)), trainable=False, name=name))
        self.orders_ = coupling_orders(latent_dim, n_layers)
        kept, changed = self.half, latent_dim - self.half
        shapes = {"w_in": (kept, hidden), "w_mid": (hidden, hidden), "w_out": (hidden, 2 * changed)}
        for name, (fan_in, fan_out) in shapes.items():
            init = "zeros" if name == "w_out" else uniform_init(fan_in, fan_out)
            setattr(self, name, self.add_weight(shape=(n_layers, fan_in, fan_out), initializer=init, name=name))
            setattr(self, "b" + name[1:], self.add_weight(shape=(n_layers, fan_out), initializer="zeros",
                                                          name="b" + name[1:]))
        self.built = True

    def _couplings(self):
        """Each coupling's weights ``(w_in, b_in, w_mid, b_mid, w_out, b_out)``, in order (one
        unstack per variable: its gradient is one stack, where indexing would add n_layers
        full-size gradients)."""
        stacks = (self.w_in, self.b_in, self.w_mid, self.b_mid, self.w_out, self.b_out)
        return list(zip(*(ops.unstack(ops.convert_to_tensor(stack), axis=0) for stack in stacks)))

    @staticmethod
    def _log_scale_and_shift(weights, kept):
        """One coupling's log-scale s and shift t, each (batch, latent_dim - half), of kept (batch, half)."""
        w_in, b_in, w_mid, b_mid, w_out, b_out = weights
        h = ops.relu(ops.matmul(kept, w_in) + b_in)
        h = ops.relu(ops.matmul(h, w_mid) + b_mid)
        raw_log_scale, shift = ops.split(ops.matmul(h, w_out) + b_out, 2, axis=1)
        return LOG_SCALE_BOUND * ops.tanh(raw_log_scale / LOG_SCALE_BOUND), shift

    def forward(self, x):
        """x (batch, latent_dim) -> u = f(x) (batch, latent_dim) and log|det df/dx| (batch,)."""
        x, log_det = ops.matmul(x, self.whitening), self.whitening_log_det
        for order, weights in zip(self.orders_, self._couplings()):
            if order is not None:
                x = ops.take(x, order, axis=1)
            kept, changed = x[:, :self.half], x[:, self.half:]
            log_scale, shift = self._log_scale_and_shift(weights, kept)
            x = ops.concatenate([changed * ops.exp(log_scale) + shift, kept], axis=1)
            log_det = log_det + ops.sum(log_scale, axis=1)
        return x, log_det

    def inverse(self, u):
        """The exact inverse of :meth:`forward`: u (batch, latent_dim) -> x (batch, latent_dim)."""
        u = ops.convert_to_tensor(u, dtype="float32")
        n_changed = self.latent_dim - self.half
        for order, weights in reversed(list(zip(self.orders_, self._couplings()))):
            changed, kept = u[:, :n_changed], u[:, n_changed:]
            log_scale, shift = self._log_scale_and_shift(weights, kept)
            u = ops.concatenate([kept, (changed - shift) * ops.exp(-log_scale)], axis=1)
            if order is not None:
                u = ops.take(u, np.argsort(order).astype("int32"), axis=1)
        return ops.matmul(u, self.colouring)

    def log_density(self, x):
        """log p(x) in nats of each row of x (batch, latent_dim): shape (batch,), float32."""
        u, log_det = self.forward(ops.convert_to_tensor(x, dtype="float32"))
        return log_det - 0.5 * ops.sum(ops.square(u), axis=1) - 0.5 * self.latent_dim * LOG_2PI

    def call(self, x):
        return -self.log_density(x)
