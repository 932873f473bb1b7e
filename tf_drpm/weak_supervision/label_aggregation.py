"""Label-VAE view aggregation: a known number of independent factors."""

import keras
import tensorflow as tf

from tf_drpm.weak_supervision.view_aggregation import ViewAggregation
from tf_drpm.weak_supervision.view_aggregation import _split_by_divergence

__all__ = ["LabelAggregation"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class LabelAggregation(ViewAggregation):
    """Label-VAE (Bouchacourt et al., 2018; Hosoya, 2018) view aggregation.

    The number of independent factors is known: `num_independent` (one in the
    experiments of Locatello et al. (2020) and Sutter et al. (2023)).

    * `use_labels=False` (default): the `num_independent` dimensions with the
      largest divergence are independent, the other `d - num_independent`
      shared.
    * `use_labels=True`: disentanglement_lib's `GroupVAELabels`. The weak
      label of a pair is the index of a changed factor (as produced by
      `tf_drpm.weak_supervision.WeakPairSampler`); latent dimension `labels[b]` is
      independent and the rest are shared, tying dimension `j` to factor `j`.
      A label of -1 (nothing changed) shares every dimension. Needs
      `num_independent=1`.

    Args:
        num_independent: Non-negative int. Default `1`.
        use_labels: Bool, see above. Default `False`.
        **kwargs: Base layer keyword arguments.

    Call arguments, Returns: see `ViewAggregation`.

    Example:

    >>> out = LabelAggregation(1)(np.array([[0.1, 3.0, 0.2]]))
    >>> out["shared_mask"]  # [[1., 0., 1.]]
    """

    def __init__(self, num_independent=1, use_labels=False, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(num_independent, bool)
            or not isinstance(num_independent, int)
            or (num_independent < 0)
        ):
            raise ValueError(
                "Argument `num_independent` must be a non-negative int. "
                f"Received: num_independent={num_independent}"
            )
        if use_labels and num_independent != 1:
            raise ValueError(
                "`use_labels=True` marks one independent dimension per pair and needs "
                f"num_independent=1. Received: num_independent={num_independent}"
            )
        self.num_independent = num_independent
        self.use_labels = bool(use_labels)

    def call(self, kl_divergence, labels=None, training=None):
        kl_divergence = tf.convert_to_tensor(kl_divergence, dtype=self.compute_dtype)
        num_latent = kl_divergence.shape[-1]
        if self.num_independent > num_latent:
            raise ValueError(
                f"`num_independent` must not exceed the latent dimension {num_latent}. "
                f"Received: num_independent={self.num_independent}"
            )
        if self.use_labels:
            if labels is None:
                raise ValueError(
                    "`LabelAggregation(use_labels=True)` needs the `labels` call "
                    "argument. Received: labels=None"
                )
            labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
            independent = tf.one_hot(labels, num_latent, dtype=kl_divergence.dtype)
            return self._outputs(1.0 - independent)
        batch = tf.shape(kl_divergence)[0]
        counts = tf.constant(
            [self.num_independent, num_latent - self.num_independent],
            kl_divergence.dtype,
        )
        counts = tf.broadcast_to(counts, tf.stack([batch, 2]))
        masks = _split_by_divergence(kl_divergence, counts)
        return self._outputs(masks[:, 1])

    def get_config(self):
        return {
            **super().get_config(),
            "num_independent": self.num_independent,
            "use_labels": self.use_labels,
        }
