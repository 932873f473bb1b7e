"""DRPM-VAE view aggregation: a random partition of the latent dimensions."""

import math

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.distributions.differentiable_random_partition import (
    DifferentiableRandomPartition,
)
from tf_drpm.layers.random_partition import RandomPartition
from tf_drpm.ops.neural_sort import hard_sort_permutation
from tf_drpm.ops.plackett_luce_log_prob import plackett_luce_log_prob
from tf_drpm.weak_supervision.view_aggregation import _LearnedSizesAggregation

__all__ = ["PartitionAggregation"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class PartitionAggregation(_LearnedSizesAggregation):
    """DRPM-VAE (Sutter et al., NeurIPS 2023, section 5.2) view aggregation.

    The `d` latent dimensions are split into `K = 2` subsets by a
    differentiable random partition model (a `tf_drpm.layers.RandomPartition`
    sublayer, sampling `tf_drpm.distributions.RelaxedDRPM`):
    subset 0 holds the independent dimensions, subset 1 the shared ones. Its
    parameters come from the per-dimension symmetric divergence `kl` of the
    two views (equations (68)-(70)):

    ```
    log_weights = Dense(2)(kl)        # [batch, 2], subset sizes (MVHG)
    log_scores  = log(kl + eps)       # [batch, d], order of the dimensions (PL)
    ```

    with `eps` the machine epsilon of the dtype. Dimensions are sorted by
    perturbed score, so large divergences tend to fill the independent subset
    first; unlike HG-VAE the assignment is sampled and differentiable too.

    `partition_loss` is the per-pair estimate (L = 1 sample `Y`) of the bound of
    `KL[q(Y | X) || p(Y)]` in the ELBO, equations (64) and (65):

    ```
    gamma * (log |Pi_Y| + log q(n; w(X)) - log p(n; w_prior))
      + delta * (log max_pi q(pi; s(X)) - log p(pi_Y; s_prior))
    ```

    with `|Pi_Y| = n_0! n_1!`, `q(n; w)` the exact MVHG pmf of the sampled
    sizes, `max_pi q(pi; s)` the Plackett-Luce probability of the sorted
    scores and `pi_Y` the permutation that produced `Y`; the exact terms come
    from `tf_drpm.distributions.DRPM`. The prior `p(Y)` is a DRPM with
    `prior_log_weights` and uniform scores (so `log p(pi_Y; s_prior) =
    -log d!`). Without training (`training=False`) or with `stochastic=False`
    no Gumbel noise is used (the noiseless partition).

    Args:
        temperature: Positive float, initial temperature of both relaxations (a
            non-trainable weight named "temperature"). Default `1.0`.
        hard: Bool; straight-through hard partitions. Default `True`.
        stochastic: Bool; Gumbel noise in training. Default `True`.
        gamma: Non-negative float weight of (64). Default `0.25` (the paper).
        delta: Non-negative float weight of (65). Default `0.01` (the value of
            the paper's clustering experiment; the weak experiment gives none).
        prior_log_weights: Two floats, prior log weights (independent,
            shared). Default `(0, 0)`.
        seed: Optional int seed.
        size_head_input: `"kl"` (the paper: raw pairwise KLs) or
            `"saturating"` (`kl / (1 + kl)`), the input of the size head.
            Default `"kl"`.
        size_head_stop_gradient: Bool; stop the size head's gradient into
            the encoder. Default `False`.
        **kwargs: Base layer keyword arguments.

    Call arguments: see `ViewAggregation` (`labels` is ignored).

    Returns:
        The dict of `ViewAggregation` plus `partition` `[batch, 2, d]`,
        `counts` `[batch, 2]`, `log_weights` `[batch, 2]` and `log_scores`
        `[batch, d]`.
    """

    def __init__(
        self,
        temperature=1.0,
        hard=True,
        stochastic=True,
        gamma=0.25,
        delta=0.01,
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
        if (
            isinstance(delta, bool)
            or not isinstance(delta, (int, float))
            or not math.isfinite(delta)
            or delta < 0
        ):
            raise ValueError(
                "Argument `delta` must be a non-negative float. "
                f"Received: delta={delta}"
            )
        self.delta = float(delta)

    def _make_sampler(self, seed):
        self.random_partition = RandomPartition(
            temperature=self.initial_temperature,
            hard=self.hard,
            stochastic=self.stochastic,
            return_details=True,
            seed=seed,
            global_batch_noise=True,  # one partition per pair: noise by global index
            name="random_partition",
            dtype=self.dtype_policy,
        )

    @property
    def temperature(self):
        """The non-trainable temperature variable (of the `RandomPartition`)."""
        return self.random_partition.temperature

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.weights_layer.build(input_shape)
        self.random_partition.build([input_shape[:-1] + (2,), input_shape])

    def compute_output_shape(self, input_shape):
        shapes = super().compute_output_shape(input_shape)
        input_shape = tuple(input_shape)
        pair = input_shape[:-1] + (2,)
        return {
            **shapes,
            "partition": input_shape[:-1] + (2, input_shape[-1]),
            "counts": pair,
            "log_weights": pair,
            "log_scores": input_shape,
        }

    def call(self, kl_divergence, labels=None, training=None, counts=None):
        del labels
        kl_divergence = tf.convert_to_tensor(kl_divergence, dtype=self.compute_dtype)
        dtype = kl_divergence.dtype
        num_latent = kl_divergence.shape[-1]
        log_weights = self._size_head(kl_divergence)
        log_scores = tf.math.log(kl_divergence + np.finfo(dtype.as_numpy_dtype).eps)
        if counts is not None:
            counts = tf.cast(counts, dtype)
        details = self.random_partition(
            [log_weights, log_scores], stochastic=self.stochastic and bool(training),
            counts=counts,
        )
        partition = tf.cast(details["partition"], dtype)  # [B, 2, d]
        counts = details["counts"]  # [B, 2]
        # The ELBO terms need integer sizes (exact with hard=True).
        counts = counts + tf.stop_gradient(tf.round(counts) - counts)

        posterior = DifferentiableRandomPartition(log_weights, log_scores)
        prior_log_scores = tf.zeros([num_latent], dtype)
        prior = DifferentiableRandomPartition(
            self._prior_log_weights(dtype), prior_log_scores
        )
        log_num_orders = tf.reduce_sum(tf.math.lgamma(counts + 1.0), axis=-1)
        counts_term = (
            log_num_orders
            + posterior.counts_log_prob(counts)
            - prior.counts_log_prob(counts)
        )
        # pi_Y: the order of the perturbed scores that produced Y.
        permutation = hard_sort_permutation(
            tf.stop_gradient(details["perturbed_log_scores"])
        )
        log_max_order = plackett_luce_log_prob(
            log_scores, hard_sort_permutation(log_scores)
        )
        order_term = log_max_order - prior.permutation_log_prob(permutation)
        partition_loss = self.gamma * counts_term + self.delta * order_term
        return self._outputs(
            partition[:, 1],
            partition_loss,
            partition=partition,
            counts=counts,
            log_weights=log_weights,
            log_scores=log_scores,
        )

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}
