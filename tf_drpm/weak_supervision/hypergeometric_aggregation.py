"""HG-VAE view aggregation: MVHG subset sizes, shared dims by divergence."""

import keras
import tensorflow as tf

from tf_drpm.distributions.multivariate_noncentral_hypergeometric import (
    MultivariateNoncentralHypergeometric,
)
from tf_drpm.distributions.relaxed_multivariate_noncentral_hypergeometric import (
    RelaxedMultivariateNoncentralHypergeometric,
)
from tf_drpm.internal import distribute_util
from tf_drpm.weak_supervision.view_aggregation import _LearnedSizesAggregation
from tf_drpm.weak_supervision.view_aggregation import _split_by_divergence

__all__ = ["HypergeometricAggregation"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class HypergeometricAggregation(_LearnedSizesAggregation):
    """HG-VAE (Sutter et al., ICLR 2023) view aggregation.

    HOW MANY dimensions are independent is sampled from a relaxed multivariate
    noncentral hypergeometric distribution (MVHG) with two groups of `d` items
    (independent, shared), `d` draws and log weights
    `Dense(2)(kl_divergence)`; WHICH ones is the heuristic: the `n_i`
    dimensions with the largest divergence are independent, the other
    `d - n_i` shared. The counts are straight-through, so gradients reach the
    dense layer through the masks; the sort by divergence carries no gradient.
    Without training (`training=False`) or with `stochastic=False` no Gumbel
    noise is used (`RelaxedMVHG.noiseless_counts`). Under `tf.distribute` the
    sizes of the global batch's pairs are drawn on every replica (log weights
    all-gathered) and each keeps its rows, so a pair's noise depends on the
    seed and its global index only.

    With `gamma > 0` the per-pair term
    `gamma * (log q(n; w(X)) - log p(n; w_prior))` (the MVHG part of equation
    (64) of Sutter et al., 2023) is returned as `partition_loss`; the default
    `gamma=0` leaves the subset sizes without a prior.

    Args:
        temperature: Positive float, initial temperature of the relaxed MVHG
            (a non-trainable weight named "temperature"). Default `1.0`.
        hard: Bool; straight-through integer counts. Default `True`.
        stochastic: Bool; Gumbel noise in training. Default `True`.
        gamma: Non-negative float weight of the count prior term. Default `0`.
        prior_log_weights: Two floats, log weights of the prior MVHG
            (independent, shared). Default `(0, 0)`.
        seed: Optional int seed.
        size_head_input: `"kl"` (the paper: raw pairwise KLs) or
            `"saturating"` (`kl / (1 + kl)`), the input of the size head.
            Default `"kl"`.
        size_head_stop_gradient: Bool; stop the size head's gradient into
            the encoder. Default `False`.
        **kwargs: Base layer keyword arguments.

    Call arguments: see `ViewAggregation` (`labels` is ignored).

    Returns:
        The dict of `ViewAggregation` plus `counts` `[batch, 2]` (independent,
        shared) and `log_weights` `[batch, 2]`.
    """

    def __init__(
        self,
        temperature=1.0,
        hard=True,
        stochastic=True,
        gamma=0.0,
        prior_log_weights=(0.0, 0.0),
        seed=None,
        size_head_input="kl",
        size_head_stop_gradient=False,
        **kwargs,
    ):
        super().__init__(
            temperature=temperature,
            hard=hard,
            stochastic=stochastic,
            gamma=gamma,
            prior_log_weights=prior_log_weights,
            seed=seed,
            size_head_input=size_head_input,
            size_head_stop_gradient=size_head_stop_gradient,
            **kwargs,
        )

    def _make_sampler(self, seed):
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.temperature = None

    def build(self, input_shape):
        self.weights_layer.build(tuple(input_shape))
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
        )

    def compute_output_shape(self, input_shape):
        shapes = super().compute_output_shape(input_shape)
        pair = tuple(input_shape)[:-1] + (2,)
        return {**shapes, "counts": pair, "log_weights": pair}

    def call(self, kl_divergence, labels=None, training=None, counts=None):
        del labels
        kl_divergence = tf.convert_to_tensor(kl_divergence, dtype=self.compute_dtype)
        dtype = kl_divergence.dtype
        num_latent = kl_divergence.shape[-1]
        log_weights = self._size_head(kl_divergence)
        temperature = tf.cast(tf.convert_to_tensor(self.temperature), dtype)
        total_count = tf.constant(num_latent, dtype)
        group_sizes = tf.fill([2], total_count)
        sizes = RelaxedMultivariateNoncentralHypergeometric(
            total_count=total_count,
            group_sizes=group_sizes,
            log_weights=log_weights,
            temperature=temperature,
            hard=self.hard,
        )
        if counts is not None:
            counts = tf.broadcast_to(tf.cast(counts, dtype), tf.shape(log_weights))
        elif self.stochastic and bool(training):
            # The sizes of the global batch's pairs, this replica's rows: the
            # noise of a pair depends on the seed and its global index only.
            rows = distribute_util.global_batch(
                tf.shape(log_weights)[0], static_local_size=log_weights.shape[0])
            global_sizes = RelaxedMultivariateNoncentralHypergeometric(
                total_count=total_count,
                group_sizes=group_sizes,
                log_weights=rows.gather(log_weights, axis=0),
                temperature=temperature,
                hard=self.hard,
            )
            counts = rows.take_local(
                global_sizes.sample(seed=tf.cast(self.seed_generator.next(), tf.int32)),
                axis=0)
        else:
            counts = sizes.noiseless_counts()  # [B, 2]
        masks = _split_by_divergence(kl_divergence, counts)  # [B, 2, d]
        partition_loss = None
        if self.gamma > 0:
            hard_counts = counts + tf.stop_gradient(tf.round(counts) - counts)
            posterior = MultivariateNoncentralHypergeometric(
                total_count=total_count,
                group_sizes=group_sizes,
                log_weights=log_weights,
            )
            prior = MultivariateNoncentralHypergeometric(
                total_count=total_count,
                group_sizes=group_sizes,
                log_weights=self._prior_log_weights(dtype),
            )
            partition_loss = self.gamma * (
                posterior.log_prob(hard_counts) - prior.log_prob(hard_counts)
            )
        return self._outputs(
            masks[:, 1], partition_loss, counts=counts, log_weights=log_weights
        )
