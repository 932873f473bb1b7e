"""Ada-VAE view aggregation: threshold at the midpoint of the divergence range."""

import keras
import tensorflow as tf

from tf_drpm.weak_supervision.view_aggregation import ViewAggregation

__all__ = ["AdaptiveAggregation"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class AdaptiveAggregation(ViewAggregation):
    """Ada-VAE (Locatello et al., 2020) view aggregation.

    Per pair, the divergences are split into two bins of equal width over
    `[min, max]` (disentanglement_lib's `histogram_fixed_width_bins(kl,
    [min, max], nbins=2)`): dimensions with a divergence below the midpoint
    `(min + max) / 2` are shared, those at or above it independent. When all
    divergences are equal every dimension is shared, which is what
    disentanglement_lib does in that case. The mask is hard (no gradient).

    Args:
        **kwargs: Base layer keyword arguments.

    Call arguments, Returns: see `ViewAggregation` (`labels` is ignored).

    Example:

    >>> out = AdaptiveAggregation()(np.array([[0.0, 1.0, 4.0, 10.0]]))
    >>> out["shared_mask"]  # [[1., 1., 1., 0.]]: midpoint 5
    """

    def call(self, kl_divergence, labels=None, training=None):
        del labels, training
        kl_divergence = tf.stop_gradient(
            tf.convert_to_tensor(kl_divergence, dtype=self.compute_dtype)
        )
        low = tf.reduce_min(kl_divergence, axis=-1, keepdims=True)
        high = tf.reduce_max(kl_divergence, axis=-1, keepdims=True)
        independent = (kl_divergence >= 0.5 * (low + high)) & (high > low)
        return self._outputs(1.0 - tf.cast(independent, kl_divergence.dtype))
