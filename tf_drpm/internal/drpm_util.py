"""Parameter handling shared by the exact and the relaxed DRPM (internal)."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util

__all__ = [
    "PartitionParameters",
    "broadcast_parameters",
    "check_static_arguments",
    "concat_shapes",
    "finite_assertions",
    "nan_unless_valid",
    "parameter_properties",
    "safe_parameters",
    "size_parameters",
    "temperature_checks",
    "valid_parameters",
]


def check_static_arguments(log_weights, log_scores, mask):
    """Raises `ValueError` for statically known invalid DRPM parameters."""
    if mask is not None and mask.shape.rank is not None and (
            mask.shape.rank < 1 or mask.shape[-1] not in (None, log_scores.shape[-1])):
        raise ValueError(
            "`mask` must have shape [..., n] like `log_scores`. Received: "
            f"mask.shape={mask.shape}, log_scores.shape={log_scores.shape}")
    for arg_name, value, what in (("log_weights", log_weights, "K"),
                                  ("log_scores", log_scores, "n")):
        rank = value.shape.rank
        if rank is not None and rank < 1:
            raise ValueError(
                f"`{arg_name}` must have rank at least 1 (shape [..., {what}]). "
                f"Received: {arg_name}.shape={value.shape}")
        if rank is not None and tf.compat.dimension_value(value.shape[-1]) is None:
            raise ValueError(
                f"The last dimension of `{arg_name}` ({what}) must be known "
                f"statically. Received: {arg_name}.shape={value.shape}")
        if rank is not None and value.shape[-1] < 1:
            raise ValueError(
                f"`{arg_name}` needs {what} >= 1. Received: {arg_name}.shape={value.shape}")
    _check_static_finite(log_weights, "log_weights")
    _check_static_finite(log_scores, "log_scores", mask)


def _check_static_finite(value, arg_name, mask=None):
    """Raises `ValueError` if `value` is statically known and not finite.

    With a `mask` only the real elements count (padded entries may hold any
    value); if the mask is not statically known the check is left to run
    time (NaN, or an error with `validate_args=True`).
    """
    if dtype_util.is_ref(value):
        return
    static = tf.get_static_value(value)
    if static is None:
        return
    finite = np.isfinite(static)
    if mask is not None:
        static_mask = None if dtype_util.is_ref(mask) else tf.get_static_value(mask)
        if static_mask is None:
            return
        finite = finite | ~np.asarray(static_mask, bool)
    if not np.all(finite):
        where = " (at real elements)" if mask is not None else ""
        raise ValueError(
            f"`{arg_name}` must be finite{where}. Received: {arg_name}={static}")


def finite_assertions(log_weights, log_scores, is_init, mask=None):
    """Run-time checks (`validate_args`) that the log-weights and the log-scores
    of the real elements are finite (padded entries may hold any value)."""
    assertions = []
    if is_init != dtype_util.is_ref(log_weights):
        assertions.append(tf.debugging.assert_equal(
            tf.reduce_all(tf.math.is_finite(log_weights)), True,
            message="`log_weights` must be finite."))
    scores_ref = dtype_util.is_ref(log_scores) or (mask is not None and dtype_util.is_ref(mask))
    if is_init != scores_ref:
        finite = tf.math.is_finite(tf.convert_to_tensor(log_scores))
        if mask is not None:
            finite = finite | ~tf.convert_to_tensor(mask, tf.bool)
        assertions.append(tf.debugging.assert_equal(
            tf.reduce_all(finite), True, message="`log_scores` must be finite."))
    return assertions


def valid_parameters(log_weights, log_scores, mask):
    """Which batch members have finite parameters (a bool `Tensor` `[B...]`).

    Valid: every log-weight and the log-score of every real element (mask
    True) is finite; padded entries may hold any value. Values known only at
    run time (variables, `tf.function` arguments) escape the static checks:
    the distributions compute with `safe_parameters` and return NaN for the
    invalid members, never plausible partitions or probabilities.
    """
    finite_scores = tf.math.is_finite(log_scores)
    if mask is not None:
        finite_scores = finite_scores | ~tf.convert_to_tensor(mask, tf.bool)
    return (tf.reduce_all(tf.math.is_finite(log_weights), axis=-1)
            & tf.reduce_all(finite_scores, axis=-1))


def safe_parameters(log_weights, log_scores, mask, dtype):
    """`(log_weights, log_scores, valid)` in `dtype`, safe to compute with.

    `valid` `[B...]` is `valid_parameters`; the log-weights and log-scores of
    the invalid members, and the log-scores of padded elements, are replaced
    by 0 before any other op (so no NaN reaches values or gradients of the
    real entries). The parameters are broadcast to the batch shape of `valid`.
    """
    log_weights = tf.cast(tf.convert_to_tensor(log_weights), dtype)
    log_scores = tf.cast(tf.convert_to_tensor(log_scores), dtype)
    valid = valid_parameters(log_weights, log_scores, mask)
    keep_scores = valid[..., tf.newaxis]
    if mask is not None:
        keep_scores = keep_scores & tf.convert_to_tensor(mask, tf.bool)
    log_weights = tf.where(valid[..., tf.newaxis], log_weights, tf.zeros_like(log_weights))
    log_scores = tf.where(keep_scores, log_scores, tf.zeros_like(log_scores))
    return log_weights, log_scores, valid


def nan_unless_valid(values, valid, event_ndims):
    """`values` `[..., B..., E...]` with NaN where `valid` `[B...]` is False.

    `event_ndims` is the number of trailing event dimensions `E` of `values`.
    """
    valid = tf.reshape(valid, tf.concat([tf.shape(valid), tf.ones([event_ndims], tf.int32)], 0))
    return tf.where(valid, values, tf.constant(np.nan, values.dtype))


def broadcast_parameters(batch_shape, log_weights, log_scores, mask, dtype):
    """The parameters broadcast to `batch_shape`, in `dtype`, safe to compute with.

    Returns `log_weights` `[B..., K]`, `log_scores` `[B..., n]` (0 at padded
    elements), `mask` `[B..., n]` or None, and `valid` `[B...]`: the
    parameters of the members that are not `valid` (a non-finite log-weight
    or log-score of a real element) are replaced by zeros (see
    `safe_parameters`).
    """
    num_subsets = int(log_weights.shape[-1])
    num_elements = int(log_scores.shape[-1])
    scores_shape = tf.concat([batch_shape, [num_elements]], 0)
    log_weights = tf.broadcast_to(tf.cast(tf.convert_to_tensor(log_weights), dtype),
                                  tf.concat([batch_shape, [num_subsets]], 0))
    log_scores = tf.broadcast_to(tf.cast(tf.convert_to_tensor(log_scores), dtype), scores_shape)
    mask = dtype_util.element_mask(mask, scores_shape)
    log_weights, log_scores, valid = safe_parameters(log_weights, log_scores, mask, dtype)
    return log_weights, log_scores, mask, valid


def size_parameters(mask, num_subsets, num_elements, dtype):
    """MVHG `total_count` and `group_sizes` of the subset sizes.

    `K` groups of `n` items and `n` draws, or of the number of real elements
    of each batch member when `mask` is given.
    """
    if mask is None:
        n = tf.cast(num_elements, dtype)
        return n, tf.fill([num_subsets], n)
    num_real = tf.reduce_sum(tf.cast(mask, dtype), axis=-1)  # [B...]
    return num_real, num_real[..., tf.newaxis] * tf.ones([num_subsets], dtype)


def concat_shapes(first, second):
    """Concatenates two shapes, given as `TensorShape`s, lists or 1-D tensors."""
    if tf.is_tensor(first) or tf.is_tensor(second):
        return tf.concat([first, second], axis=0)
    return tf.TensorShape(first).concatenate(tf.TensorShape(second))


def temperature_checks(temperature, is_init):
    """Run-time check (`validate_args`) that a temperature is positive."""
    if is_init != dtype_util.is_ref(temperature):
        return [arg_util.positive_assertion(temperature, "temperature")]
    return []


def parameter_properties():
    """`tfp.util.ParameterProperties` of `log_weights`, `log_scores` and `mask`.

    `shape_fn` maps the shape of a sample, `[..., K, n]`, to the parameter's
    shape (e.g. for `tfp.experimental.util.make_trainable`).
    """
    def scores_shape(sample_shape):
        return concat_shapes(sample_shape[:-2], sample_shape[-1:])

    return dict(
        log_weights=tfp.util.ParameterProperties(
            event_ndims=1, shape_fn=lambda sample_shape: sample_shape[:-1]),
        log_scores=tfp.util.ParameterProperties(event_ndims=1, shape_fn=scores_shape),
        mask=tfp.util.ParameterProperties(
            event_ndims=1, is_preferred=False, shape_fn=scores_shape))


class PartitionParameters:
    """The parameters and event shape `[K, n]` of the exact and relaxed DRPM (a mixin)."""

    @property
    def log_weights(self):
        """Log group importances `[..., K]` of the subset sizes."""
        return self._log_weights

    @property
    def log_scores(self):
        """Plackett-Luce log-scores `[..., n]` of the elements."""
        return self._log_scores

    @property
    def mask(self):
        """Boolean `[..., n]`, `True` for real elements (padded sets), or None."""
        return self._mask

    @property
    def num_subsets(self):
        """Python `int` `K`."""
        return int(self._log_weights.shape[-1])

    @property
    def num_elements(self):
        """Python `int` `n`."""
        return int(self._log_scores.shape[-1])

    def _event_shape(self):
        return tf.TensorShape([self.num_subsets, self.num_elements])

    def _event_shape_tensor(self):
        return tf.constant([self.num_subsets, self.num_elements], tf.int32)
