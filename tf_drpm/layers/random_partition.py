"""Keras layer sampling DRPM partitions."""

import math

import keras
import tensorflow as tf

from tf_drpm.distributions.relaxed_differentiable_random_partition import (
    RelaxedDifferentiableRandomPartition,
)
from tf_drpm.internal import arg_util
from tf_drpm.internal import distribute_util
from tf_drpm.internal import drpm_util
from tf_drpm.internal import dtype_util
from tf_drpm.ops.neural_sort import descending_order
from tf_drpm.ops.plackett_luce_log_prob import ranked_log_prob

__all__ = ["RandomPartition"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class RandomPartition(keras.layers.Layer):
    """Samples a partition of `n` elements into `K` subsets with the DRPM.

    Takes log group importances `log_weights` `[batch, K]` and element
    log-scores `log_scores` `[batch, n]` and returns a partition matrix
    `[batch, K, n]`: row `k` is the multi-hot indicator of subset `k`, each
    column holds one 1 (hard mode) or sums to 1 (soft mode). It samples the
    relaxed DRPM (`tf_drpm.distributions.RelaxedDRPM`): subset sizes from a
    relaxed multivariate noncentral hypergeometric distribution over its
    exact conditionals, the element order from a NeuralSort-relaxed
    Plackett-Luce distribution. Gradients reach both inputs; with `hard=True`
    the partitions are exact samples of the DRPM and the gradients
    straight-through (biased).

    It is the partition block of the experiment models too:
    `tf_drpm.multitask.TaskPartition` and
    `tf_drpm.weak_supervision.PartitionAggregation` compose one, using the
    call-time overrides (`counts`, `temperature`, `stochastic`).

    Padded sets: a boolean `mask` `[batch, n]` (`True` = real element, the
    Keras masking convention; given as `mask=` or carried by `log_scores`,
    e.g. from `keras.layers.Masking` or `Embedding(mask_zero=True)`) makes
    each batch member the DRPM of its real elements alone: subset sizes are
    drawn for the real elements, padded elements belong to no subset
    (all-zero columns), and the partition of the real elements has exactly
    the law of the unpadded model (see `tf_drpm.distributions.DRPM`).

    Training and inference follow Keras' semantics (as `Dropout` and
    `GaussianNoise`): in training (`fit`, `training=True`) a stochastic layer
    draws a new partition on every call; at inference (`predict`,
    `evaluate`, `training=False`) it returns the deterministic partition
    without Gumbel noise (`RelaxedDRPM.noiseless_partition`: the
    highest-scoring elements fill the first subsets, sized by the sequential
    mode of the sizes), so predictions do not change from call to call or
    after saving and loading, unless `sample_at_inference=True`. A call
    without `training` outside a model (`training=None`) samples, as in
    training.

    Invalid inputs: a non-finite log-weight, or log-score of a real element
    (padded entries may hold any value, `-inf`, `+inf` and NaN included),
    makes every output of that batch member NaN (never a plausible
    partition), or, with `validate_args=True`, an error that names the input.
    The padded entries are replaced before any op, so the values and
    gradients of the real elements are those of the unpadded set.

    Under a mixed-precision policy (`mixed_float16`, `mixed_bfloat16`) the
    partition is sampled in float32 and cast to the compute dtype (its 0/1
    entries are exact); `counts` and the log-probabilities stay float32,
    since half precision cannot hold every count up to `n`.

    Batch partitions under `tf.distribute` (`partition_global_batch=True`): in
    a model whose set is the batch itself (the set axis, the last axis of
    `log_scores`, runs over the examples of the batch, as in DRPM variational
    clustering), each replica of a strategy holds only its part of the set.
    With this option the layer all-gathers the log-scores (and the mask) of
    every replica along the set axis, samples one partition of the global set
    with the same seed on every replica, and returns the columns of this
    replica's elements; gradients flow back through the gather to each
    replica's own log-scores. The global set is the replicas' parts in
    replica order, and every replica must hold the same number of elements
    (a global batch that divides by the number of replicas, batched with
    `drop_remainder=True`). `log_weights` (and `counts`) describe the global
    set and must be the same on every replica: compute them from all-gathered
    or all-reduced statistics. Set-level outputs (`counts`, the
    log-probabilities) are those of the global partition, the same on every
    replica; a loss that adds them should add `1 / num_replicas` of them per
    replica. With one replica, or outside `strategy.run`, the option changes
    nothing.

    Batches of sets under `tf.distribute` (`global_batch_noise=True`): when
    each row of the batch is its own set (e.g. one partition per example),
    the layer all-gathers the rows of `log_scores` (and of `log_weights`,
    `mask` and `counts` when they have the batch axis), samples the
    partitions of the global batch with the same seed on every replica and
    returns this replica's rows, so the noise of a row depends on the seed
    and its index in the global batch only: replicas do not repeat each
    other's noise, and one device draws the same partitions for the global
    batch. It costs a partition per global row on every replica.

    The temperature of both relaxations is a non-trainable scalar weight named
    `"temperature"`, created in `build`, so
    `tf_drpm.callbacks.ExponentialTemperatureSchedule` can anneal it; it is
    saved with the model.

    Args:
        temperature: Positive float, the initial temperature. Default `1.0`.
        hard: Bool; straight-through exact partitions. Default `True`.
        stochastic: Bool; Gumbel noise on every call in training. `False`
            gives the deterministic partition without noise
            (`RelaxedDRPM.noiseless_partition`). Default `True`.
        sample_at_inference: Bool; with `stochastic`, sample at inference
            (`training=False`: `predict`, `evaluate`) too, instead of the
            noiseless partition. Default `False`.
        hard_permutation: Optional bool overriding `hard` for the ordering
            stage (e.g. hard sizes with a soft permutation). Default `None`.
        return_details: Bool; if `True` the layer returns a dict (see below).
            Default `False`.
        exact_log_prob: Bool; with `return_details`, also return the exact
            `log p(Y)` of the (hard) partition. Default `False`.
        seed: Optional int seed of the layer's `keras.random.SeedGenerator`.
        partition_global_batch: Bool; under a `tf.distribute` strategy with
            several replicas, partition the set made of every replica's
            elements (see above). Default `False`: each replica partitions
            its own elements.
        global_batch_noise: Bool; under a `tf.distribute` strategy with
            several replicas, draw the partitions of the global batch's rows
            and keep this replica's rows (see above). Default `False`: each
            replica draws the noise of its rows from the shared seed (the
            replicas' noise then repeats). Not together with
            `partition_global_batch`.
        validate_args: Bool; run-time checks of the inputs and of the
            temperature weight (e.g. assigned a value <= 0 by a callback), as
            `validate_args` of `tf_drpm.distributions.RelaxedDRPM`: an error
            for a non-finite `log_weights` or `log_scores` (of a real
            element) or a temperature <= 0. Without them these give NaN
            outputs. Default `False`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: A list `[log_weights, log_scores]` of float tensors of shapes
            `[batch, K]` and `[batch, n]` (`log_weights` may also be `[K]`).
        mask: Optional boolean tensor `[batch, n]`, `True` for real elements,
            or the Keras mask list `[log_weights_mask, log_scores_mask]` (the
            second is used). Default: every element is real.
        counts: Optional subset sizes `[batch, K]` (or `[K]`; integer values
            summing to the number of real elements) to condition on: only the
            order is then sampled (the sizes are not drawn; `log_weights`
            only fixes `K`). Default `None`.
        temperature: Optional positive float (or scalar tensor) used instead
            of the temperature weight for this call (e.g. a fixed evaluation
            temperature). Default `None`.
        stochastic: Optional bool: sample (`True`) or return the noiseless
            partition (`False`) in this call, whatever `training` and the
            layer's `stochastic` say. Default `None`: the layer's
            `stochastic`, in training (or with `sample_at_inference`).
        training: Optional bool; `False` (inference) gives the noiseless
            partition unless `sample_at_inference=True`. Set by Keras
            (`fit`, `predict`, `evaluate`). Default `None`: as in training.

    Returns:
        The partition `[batch, K, n]`, or with `return_details=True` a dict
        with `partition` `[batch, K, n]`, `counts` `[batch, K]`, `permutation`
        `[batch, n, n]`, `perturbed_log_scores` `[batch, n]` (the log-scores
        plus the Gumbel noise that ordered them), `log_prob_counts` `[batch]`
        (exact MVHG log-pmf of the hard counts), `log_prob_permutation`
        `[batch]` (exact Plackett-Luce log-pmf of the hard order of the
        perturbed scores) and, with `exact_log_prob=True`, `log_prob`
        `[batch]` (the exact DRPM log-pmf of the hard partition). Inside a
        `tf.function` the entries a caller does not use are not computed.
        With `partition_global_batch` on several replicas, the element axis
        of `partition`, `permutation` and `perturbed_log_scores` holds this
        replica's elements (`permutation[..., r, j]` = 1 if this replica's
        element `j` has global rank `r`); the other entries are global.

    Example:

    >>> layer = RandomPartition(temperature=0.5, seed=1)
    >>> y = layer([np.zeros((2, 3)), np.random.randn(2, 8)])
    >>> y.shape
    TensorShape([2, 3, 8])

    Sets of 8 and 5 elements in one batch:

    >>> mask = tf.sequence_mask([8, 5], maxlen=8)
    >>> y = layer([np.zeros((2, 3)), np.random.randn(2, 8)], mask=mask)
    >>> tf.reduce_sum(y, axis=[1, 2]).numpy()
    array([8., 5.], dtype=float32)

    The batch as the set, under a `tf.distribute` strategy (in `strategy.run`,
    e.g. a `train_step`; `log_scores` holds one score per example of the
    replica, `[b]`):

    >>> layer = RandomPartition(seed=1, partition_global_batch=True)
    >>> # y = layer([log_weights, log_scores])  # [K, b]: this replica's
    >>> #     columns of the one partition [K, n] of the global batch
    """

    def __init__(self, temperature=1.0, hard=True, stochastic=True, hard_permutation=None,
                 return_details=False, exact_log_prob=False, seed=None,
                 partition_global_batch=False, global_batch_noise=False, validate_args=False,
                 sample_at_inference=False, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                or not math.isfinite(temperature) or temperature <= 0):
            raise ValueError(
                "Argument `temperature` must be a positive finite float. "
                f"Received: temperature={temperature}")
        self.initial_temperature = float(temperature)
        self.hard = arg_util.check_bool(hard, "hard")
        self.stochastic = arg_util.check_bool(stochastic, "stochastic")
        self.sample_at_inference = arg_util.check_bool(
            sample_at_inference, "sample_at_inference")
        self.hard_permutation = arg_util.check_bool(
            hard_permutation, "hard_permutation", allow_none=True)
        self.return_details = arg_util.check_bool(return_details, "return_details")
        self.exact_log_prob = arg_util.check_bool(exact_log_prob, "exact_log_prob")
        self.partition_global_batch = arg_util.check_bool(
            partition_global_batch, "partition_global_batch")
        self.global_batch_noise = arg_util.check_bool(global_batch_noise, "global_batch_noise")
        if self.partition_global_batch and self.global_batch_noise:
            raise ValueError(
                "`partition_global_batch` (the batch is one set) and `global_batch_noise` "
                "(each row is a set) exclude each other. Received: "
                "partition_global_batch=True, global_batch_noise=True")
        self.validate_args = arg_util.check_bool(validate_args, "validate_args")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.temperature = None

    def build(self, input_shape):
        _check_two_inputs(input_shape, "input_shape")
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
        )

    def call(self, inputs, mask=None, counts=None, temperature=None, stochastic=None,
             training=None):
        _check_two_inputs(inputs, "inputs")
        if isinstance(mask, (list, tuple)):
            mask = mask[1]  # Keras passes the inputs' masks: the log-scores' one.
        log_weights, log_scores = inputs
        log_scores = tf.convert_to_tensor(log_scores)
        if not log_scores.dtype.is_floating:
            log_scores = tf.cast(log_scores, self.compute_dtype)
        output_dtype = log_scores.dtype
        # Half precision cannot count to n: sample in float32, cast back below.
        log_scores = tf.cast(log_scores, dtype_util.wide_dtype(output_dtype))
        log_weights = tf.cast(tf.convert_to_tensor(log_weights), log_scores.dtype)
        if temperature is None:
            temperature = self.temperature
        temperature = tf.cast(tf.convert_to_tensor(temperature), log_scores.dtype)
        if stochastic is None:
            # Keras semantics: noise in training; at inference only if asked.
            stochastic = self.stochastic and (training is not False or self.sample_at_inference)
        batch = None
        if self.partition_global_batch and distribute_util.replica_context() is not None:
            # The set of every replica's elements: gather, sample it, keep ours.
            batch = distribute_util.global_batch(
                tf.shape(log_scores)[-1], static_local_size=log_scores.shape[-1])
            if mask is not None:
                mask = tf.broadcast_to(tf.convert_to_tensor(mask, tf.bool), tf.shape(log_scores))
                mask = batch.gather(mask, axis=-1)
            log_scores = batch.gather(log_scores, axis=-1)
        rows = None
        if (self.global_batch_noise and log_scores.shape.rank is not None
                and log_scores.shape.rank >= 2
                and distribute_util.replica_context() is not None):
            # The rows of every replica: sample them all, keep ours.
            num_rows = log_scores.shape[0]
            rows = distribute_util.global_batch(
                tf.shape(log_scores)[0], static_local_size=num_rows)

            def gather_rows(value):
                # Values without the batch axis (e.g. log_weights [K]) broadcast.
                if value is None or value.shape.rank != log_scores.shape.rank or (
                        value.shape[0] != num_rows):
                    return value
                return rows.gather(value, axis=0)

            if mask is not None:
                mask = rows.gather(tf.broadcast_to(
                    tf.convert_to_tensor(mask, tf.bool), tf.shape(log_scores)), axis=0)
            if counts is not None:
                counts = gather_rows(tf.convert_to_tensor(counts))
            log_weights = gather_rows(log_weights)
            log_scores = rows.gather(log_scores, axis=0)
        # Non-finite inputs: computed as zeros (padded entries: always), NaN
        # outputs for their batch members (or an error with validate_args).
        log_weights, log_scores, mask, valid = _safe_inputs(
            log_weights, log_scores, mask, self.validate_args)
        drpm = RelaxedDifferentiableRandomPartition(
            log_weights, log_scores, temperature, hard=self.hard,
            hard_permutation=self.hard_permutation, mask=mask, validate_args=self.validate_args)
        if stochastic:
            details = drpm.sample_with_details(
                seed=self.seed_generator.next(), return_permutation=self.return_details,
                counts=counts)
        else:
            details = drpm.noiseless_partition_with_details(
                return_permutation=self.return_details, counts=counts)
        def own_elements(value):
            return value if batch is None else batch.take_local(value, axis=-1)

        def own_rows(outputs):
            if rows is None:
                return outputs
            return tf.nest.map_structure(lambda v: rows.take_local(v, axis=0), outputs)

        if not self.return_details:
            partition = _nan_unless_valid(details["partition"], valid)
            return own_rows(tf.cast(own_elements(partition), output_dtype))
        exact = drpm.exact
        hard_counts = tf.round(details["counts"])
        outputs = {
            "partition": tf.cast(own_elements(details["partition"]), output_dtype),
            "counts": details["counts"],
            "permutation": tf.cast(own_elements(details["permutation"]), output_dtype),
            "perturbed_log_scores": own_elements(details["perturbed_log_scores"]),
            "log_prob_counts": exact.counts_log_prob(tf.stop_gradient(hard_counts)),
            "log_prob_permutation": _sorted_order_log_prob(
                log_scores, tf.stop_gradient(details["perturbed_log_scores"]), mask),
        }
        if self.exact_log_prob:
            outputs["log_prob"] = exact.log_prob(
                tf.stop_gradient(tf.round(details["partition"])))
        outputs = {key: _nan_unless_valid(value, valid) for key, value in outputs.items()}
        return own_rows(outputs)

    def compute_mask(self, inputs, mask=None):
        # The output is a partition matrix; padded elements are its zero columns.
        return None

    def compute_output_shape(self, input_shape):
        weights_shape, scores_shape = (tuple(s) for s in input_shape)
        batch = scores_shape[:-1]
        num_subsets, num_elements = weights_shape[-1], scores_shape[-1]
        partition_shape = batch + (num_subsets, num_elements)
        if not self.return_details:
            return partition_shape
        shapes = {
            "partition": partition_shape,
            "counts": batch + (num_subsets,),
            "permutation": batch + (num_elements, num_elements),
            "perturbed_log_scores": batch + (num_elements,),
            "log_prob_counts": batch,
            "log_prob_permutation": batch,
        }
        if self.exact_log_prob:
            shapes["log_prob"] = batch
        return shapes

    def get_config(self):
        base_config = super().get_config()
        config = {
            "temperature": self.initial_temperature,
            "hard": self.hard,
            "stochastic": self.stochastic,
            "hard_permutation": self.hard_permutation,
            "return_details": self.return_details,
            "exact_log_prob": self.exact_log_prob,
            "seed": self.seed,
            "partition_global_batch": self.partition_global_batch,
            "global_batch_noise": self.global_batch_noise,
            "validate_args": self.validate_args,
            "sample_at_inference": self.sample_at_inference,
        }
        return {**base_config, **config}


def _is_shape(value):
    return isinstance(value, (list, tuple, tf.TensorShape)) and all(
        d is None or isinstance(d, int) for d in value)


def _check_two_inputs(inputs, arg_name):
    """Raises unless `inputs` is a pair `[log_weights, log_scores]` (tensors or shapes).

    One rank-2 tensor (or its shape `(batch, n)`) is a pair too for Python, so
    the items are checked to be tensors or shapes, not numbers or rows.
    """
    if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        if arg_name == "input_shape":
            if all(_is_shape(item) for item in inputs):
                return
        elif all(hasattr(item, "shape") for item in inputs):
            return
    description = inputs
    if hasattr(inputs, "shape") and not isinstance(inputs, (list, tuple)):
        description = f"a single tensor of shape {tuple(inputs.shape)}"
    raise ValueError(
        "`RandomPartition` expects a list of two inputs [log_weights, log_scores] "
        f"(shapes [batch, K] and [batch, n]). Received: {arg_name}={description}")


def _safe_inputs(log_weights, log_scores, mask, validate_args):
    """`(log_weights, log_scores, mask, valid)`, safe to compute with.

    `valid` `[batch]` is False for a batch member with a non-finite log-weight
    or log-score of a real element. The log-scores of padded elements and the
    parameters of invalid members are replaced by 0 before any other op
    (`drpm_util.safe_parameters`), so the layer computes finite values whose
    gradients reach only the real entries of valid members; `_nan_unless_valid` then makes the outputs of
    the invalid members NaN. With `validate_args` they are an error instead.
    """
    if mask is not None:
        mask = tf.broadcast_to(tf.convert_to_tensor(mask, tf.bool), tf.shape(log_scores))
    if validate_args:
        with tf.control_dependencies(drpm_util.finite_assertions(
                log_weights, log_scores, is_init=True, mask=mask)):
            log_scores = tf.identity(log_scores)
    log_weights, log_scores, valid = drpm_util.safe_parameters(
        log_weights, log_scores, mask, log_scores.dtype)
    return log_weights, log_scores, mask, valid


def _nan_unless_valid(value, valid):
    """`value` `[batch, ...]` with NaN for the batch members not `valid` `[batch]`."""
    event_ndims = value.shape.rank - valid.shape.rank
    return drpm_util.nan_unless_valid(value, valid, event_ndims)


def _sorted_order_log_prob(log_scores, perturbed_log_scores, mask=None):
    """Plackett-Luce log-pmf of the descending order of the perturbed scores.

    Padded elements (mask False) are ranked last and left out.
    """
    order = descending_order(perturbed_log_scores, mask)
    batch_dims = len(order.shape) - 1
    log_scores = tf.broadcast_to(log_scores, tf.shape(perturbed_log_scores))
    ordered = tf.gather(log_scores, order, batch_dims=batch_dims)
    if mask is None:
        return ranked_log_prob(ordered)
    mask = tf.broadcast_to(tf.convert_to_tensor(mask, tf.bool), tf.shape(order))
    return ranked_log_prob(ordered, tf.gather(mask, order, batch_dims=batch_dims))
