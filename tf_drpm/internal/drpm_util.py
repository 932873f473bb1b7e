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
    "parameter_properties",
    "real_log_scores",
    "size_parameters",
    "temperature_checks",
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
        if not dtype_util.is_ref(value):
            static = tf.get_static_value(value)
            if static is not None and not np.all(np.isfinite(static)):
                raise ValueError(
                    f"`{arg_name}` must be finite. Received: {arg_name}={static}")


def finite_assertions(log_weights, log_scores, is_init):
    """Run-time checks (`validate_args`) that the log-weights and log-scores are finite."""
    assertions = []
    for arg_name, value in (("log_weights", log_weights), ("log_scores", log_scores)):
        if is_init != dtype_util.is_ref(value):
            assertions.append(tf.debugging.assert_equal(
                tf.reduce_all(tf.math.is_finite(value)), True,
                message=f"`{arg_name}` must be finite."))
    return assertions


def broadcast_parameters(batch_shape, log_weights, log_scores, mask, dtype):
    """The parameters broadcast to `batch_shape`, in `dtype`.

    Returns `log_weights` `[B..., K]`, `log_scores` `[B..., n]` (0 at padded
    elements) and `mask` `[B..., n]` or None.
    """
    num_subsets = int(log_weights.shape[-1])
    num_elements = int(log_scores.shape[-1])
    scores_shape = tf.concat([batch_shape, [num_elements]], 0)
    log_weights = tf.broadcast_to(tf.cast(tf.convert_to_tensor(log_weights), dtype),
                                  tf.concat([batch_shape, [num_subsets]], 0))
    log_scores = tf.broadcast_to(tf.cast(tf.convert_to_tensor(log_scores), dtype), scores_shape)
    mask = dtype_util.element_mask(mask, scores_shape)
    if mask is not None:
        log_scores = tf.where(mask, log_scores, tf.zeros_like(log_scores))
    return log_weights, log_scores, mask


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


def real_log_scores(log_scores, mask, dtype):
    """`log_scores` in `dtype`, 0 at padded elements."""
    log_scores = tf.cast(tf.convert_to_tensor(log_scores), dtype)
    if mask is None:
        return log_scores
    return tf.where(mask, log_scores, tf.zeros_like(log_scores))


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
