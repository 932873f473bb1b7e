"""Base class of the view aggregations of weakly supervised VAEs."""

import math

import keras
import tensorflow as tf

from tf_drpm.ops.neural_sort import hard_sort_permutation
from tf_drpm.ops.subset_masks import subset_masks

__all__ = ["ViewAggregation"]

_SIZE_HEAD_INPUTS = ("kl", "saturating")


class ViewAggregation(keras.layers.Layer):
    """Decides which latent dimensions two views share.

    A weakly supervised VAE (`tf_drpm.weak_supervision.WeakVAE`) encodes both images of a
    pair, measures a per-dimension divergence between the two posteriors and
    asks its view aggregation which dimensions are shared. Shared dimensions
    get the averaged posterior of both views, the others keep their own
    (equations (66)-(67) of Sutter et al., 2023). Subclasses differ only in how
    they choose; all of them return the same dict, so the model does not care.

    Call arguments:
        kl_divergence: Float tensor `[batch, d]`, the per-dimension divergence
            between the two views' posteriors (non-negative).
        labels: Optional int tensor `[batch]` of weak labels (used by
            `LabelAggregation` only).
        training: Python bool; stochastic aggregations sample only in training.

    Returns:
        A dict with
        `shared_mask`: float `[batch, d]`, 1 for shared dimensions (may carry
            straight-through gradients);
        `num_shared`: float `[batch]`, the estimated number of shared dims;
        `partition_loss`: float `[batch]`, the aggregation's own term of the
            negative ELBO (0 for the heuristics).
    """

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[:-1]
        return {
            "shared_mask": tuple(input_shape),
            "num_shared": batch,
            "partition_loss": batch,
        }

    def _outputs(self, shared_mask, partition_loss=None, **extra):
        num_shared = tf.reduce_sum(shared_mask, axis=-1)
        if partition_loss is None:
            partition_loss = tf.zeros_like(num_shared)
        return {
            "shared_mask": shared_mask,
            "num_shared": num_shared,
            "partition_loss": partition_loss,
            **extra,
        }


def _split_by_divergence(kl_divergence, counts):
    """Masks `[batch, 2, d]`: the `counts[..., 0]` largest divergences first.

    Row 0 marks the independent dims (largest divergence), row 1 the shared
    ones. Ties are broken by the lower index first. Gradients reach `counts`
    through the straight-through subset masks; the sort itself is hard.
    """
    permutation = hard_sort_permutation(tf.stop_gradient(kl_divergence))  # [B, d, d]
    masks = subset_masks(counts, kl_divergence.shape[-1])  # [B, 2, d] by rank
    return tf.matmul(masks, tf.cast(permutation, masks.dtype))


class _LearnedSizesAggregation(ViewAggregation):
    """Shared machinery of the HG and DRPM aggregations.

    Checks and stores the common arguments and holds the size head
    `log_weights = Dense(2)(features)`; subclasses own the non-trainable
    `temperature` weight (annealed by
    `tf_drpm.callbacks.ExponentialTemperatureSchedule`) and the seed
    generator. Group 0 is the
    independent group, group 1 the shared one. `size_head_input` chooses the
    features:

    * `"kl"` (equation (69) of Sutter et al., 2023): the raw pairwise KLs.
      They are unbounded; once the encoder separates the views by tens of
      nats the logit gap is large, the MVHG mode sits at 0 shared dims
      and the straight-through gradient through the sizes vanishes (a
      measured case: docs/weak_supervision.md).
    * `"saturating"`: `kl / (1 + kl)` in [0, 1): about 0 for a dim the views
      share and about 1 for one they do not, so the head counts differing
      dims with bounded logits.

    `size_head_stop_gradient=True` stops the head's gradient from reaching
    the encoder through the KLs (the head then adapts to the encoder, not the
    encoder to the head).

    Both take the call argument `counts`: optional sizes `[2]` or `[B, 2]`
    (independent, shared; integer values summing to `d`) used instead of
    drawing them; the dims are still split by divergence, and the partition
    term is that of the given sizes (e.g. `WeakVAE(size_warmup_steps=...)`).
    """

    def __init__(
        self,
        temperature=1.0,
        hard=True,
        stochastic=True,
        gamma=0.25,
        prior_log_weights=(0.0, 0.0),
        seed=None,
        size_head_input="kl",
        size_head_stop_gradient=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if size_head_input not in _SIZE_HEAD_INPUTS:
            raise ValueError(
                f"Argument `size_head_input` must be one of {_SIZE_HEAD_INPUTS}. "
                f"Received: size_head_input={size_head_input!r}"
            )
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not math.isfinite(temperature)
            or temperature <= 0
        ):
            raise ValueError(
                "Argument `temperature` must be a positive finite float. "
                f"Received: temperature={temperature}"
            )
        if (
            isinstance(gamma, bool)
            or not isinstance(gamma, (int, float))
            or not math.isfinite(gamma)
            or gamma < 0
        ):
            raise ValueError(
                "Argument `gamma` must be a non-negative float. "
                f"Received: gamma={gamma}"
            )
        prior_log_weights = tuple(float(w) for w in prior_log_weights)
        if len(prior_log_weights) != 2 or not all(
            math.isfinite(w) for w in prior_log_weights
        ):
            raise ValueError(
                "Argument `prior_log_weights` must be two finite floats (independent, "
                f"shared). Received: prior_log_weights={prior_log_weights}"
            )
        self.initial_temperature = float(temperature)
        self.hard = bool(hard)
        self.stochastic = bool(stochastic)
        self.gamma = float(gamma)
        self.prior_log_weights = prior_log_weights
        self.seed = seed
        self.size_head_input = size_head_input
        self.size_head_stop_gradient = bool(size_head_stop_gradient)
        self._make_sampler(seed)
        self.weights_layer = keras.layers.Dense(
            2, name="log_weights", dtype=self.dtype_policy
        )

    def _make_sampler(self, seed):
        """Creates the seed generator (and whatever samples with it)."""
        raise NotImplementedError

    def _size_head(self, kl_divergence):
        """`log_weights` `[B, 2]` (independent, shared) from the divergences."""
        features = kl_divergence
        if self.size_head_input == "saturating":
            features = kl_divergence / (1.0 + kl_divergence)
        if self.size_head_stop_gradient:
            features = tf.stop_gradient(features)
        return self.weights_layer(features)  # [B, 2]

    def _prior_log_weights(self, dtype):
        return tf.constant(self.prior_log_weights, dtype)

    def get_config(self):
        config = {
            "temperature": self.initial_temperature,
            "hard": self.hard,
            "stochastic": self.stochastic,
            "gamma": self.gamma,
            "prior_log_weights": list(self.prior_log_weights),
            "seed": self.seed,
            "size_head_input": self.size_head_input,
            "size_head_stop_gradient": self.size_head_stop_gradient,
        }
        return {**super().get_config(), **config}
