"""Keras' BatchNormalization, computed by TensorFlow's fused kernel under the TensorFlow backend.

Keras 3 normalises with separate ops on every backend (``ops.moments``, then scale and shift);
under TensorFlow on a CPU those ops and their gradients took about a third of the op time of
a training step of the default autoencoder (docs/PERFORMANCE.md). TensorFlow's
``FusedBatchNormV3`` does the statistics and the normalisation in one kernel, and the whole
gradient in another, as tf.keras 2 did. Same maths as Keras' layer: the outputs and gradients
agree to float32 round-off (tested), the moving statistics follow the same update, and the
config and weights are Keras' own. Under JAX (whose XLA fuses the ops anyway) and PyTorch the
layer is Keras' unchanged, as it is wherever the kernel does not apply (frozen layers, masks,
synchronised statistics, renorm, anything but an NHWC image batch).
"""

from __future__ import annotations

import keras

#: The fused kernel's smallest epsilon (cuDNN's bound, enforced on every device).
_MIN_FUSED_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="latentspace")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with TensorFlow's fused kernel where it applies.

    Same arguments, weights and config as Keras' layer. Load a saved model holding it after
    ``import latentspace.batch_norm`` (``latentspace.model`` imports it), which registers it.
    """

    def fused(self, inputs, mask=None) -> bool:
        """Whether :meth:`call` runs the fused kernel for ``inputs`` (else Keras' own ops).

        Not for a frozen layer (``trainable=False``, fine-tuning): gradients then flow through
        the kernel's inference mode, whose GPU gradient TensorFlow refuses under deterministic ops.
        """
        return (keras.backend.backend() == "tensorflow" and self.trainable and mask is None and not self.synchronized
                and not self.renorm and len(inputs.shape) == 4 and self.axis % 4 == 3
                and self.epsilon >= _MIN_FUSED_EPSILON)

    def call(self, inputs, training=None, mask=None):
        if not self.fused(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = keras.ops.cast(inputs, "float32")  # statistics at float32 under mixed precision, as in Keras
        channels = x.shape[-1]
        gamma = self.gamma if self.scale else keras.ops.ones((channels,), "float32")
        beta = self.beta if self.center else keras.ops.zeros((channels,), "float32")
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                                 is_training=True)
            # The kernel returns the unbiased variance; Keras averages the biased one (over n values).
            n = keras.ops.cast(keras.ops.size(x) // channels, "float32")
            variance = variance * (n - 1.0) / n
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, mean=self.moving_mean,
                                                       variance=self.moving_variance, epsilon=self.epsilon,
                                                       is_training=False)
        return keras.ops.cast(y, self.compute_dtype)
