"""Shared argument checks for the MVHG distributions (internal)."""

import numpy as np
import tensorflow as tf

from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util

__all__ = [
    "check_static_arguments",
    "counts_assertions",
    "finite_log_weights",
    "nan_unless_valid",
    "parameter_assertions",
    "safe_log_weights",
    "safe_parameters",
    "static_max_count",
    "valid_parameters",
]


def static_max_count(total_count, group_sizes, max_count=None):
    """Static support bound `max_count >= max(total_count)` (a Python int).

    Uses `max_count` if given, else the static value of `total_count`, else
    the static value of `sum(group_sizes)`; raises if none is known (under
    `tf.function(jit_compile=True)` shapes must be static).
    """
    if max_count is not None:
        return arg_util.check_int(max_count, "max_count", minimum=0)
    if not dtype_util.is_ref(total_count):
        value = tf.get_static_value(total_count)
        if value is not None:
            return int(np.round(np.max(value))) if np.size(value) else 0
    if not dtype_util.is_ref(group_sizes):
        value = tf.get_static_value(group_sizes)
        if value is not None and np.size(value):
            return int(np.round(np.max(np.sum(value, axis=-1))))
    raise ValueError(
        "The support size needs a static `total_count` (or static "
        "`group_sizes`, or `max_count`): pass Python numbers, NumPy arrays or "
        f"constant tensors. Received: total_count={total_count}")


def check_static_arguments(total_count, group_sizes, log_weights):
    """Raises `ValueError` for statically known invalid MVHG parameters."""
    k_sizes = tf.compat.dimension_value(group_sizes.shape.with_rank_at_least(1)[-1])
    k_weights = tf.compat.dimension_value(
        log_weights.shape.with_rank_at_least(1)[-1])
    if k_sizes is not None and k_weights is not None and k_sizes != k_weights:
        raise ValueError(
            "`group_sizes` and `log_weights` must have the same number of "
            f"groups K (last axis). Received: group_sizes.shape="
            f"{group_sizes.shape}, log_weights.shape={log_weights.shape}")
    for k in (k_sizes, k_weights):
        if k is not None and k < 1:
            raise ValueError(
                "There must be at least one group (K >= 1). Received: "
                f"log_weights.shape={log_weights.shape}")
    values = {}
    for arg_name, arg in (("total_count", total_count),
                          ("group_sizes", group_sizes),
                          ("log_weights", log_weights)):
        values[arg_name] = (None if dtype_util.is_ref(arg)
                            else tf.get_static_value(arg))
    for arg_name in ("total_count", "group_sizes"):
        value = values[arg_name]
        if value is None:
            continue
        if not np.all(np.isfinite(value)) or np.any(value < 0) or np.any(
                value != np.round(value)):
            raise ValueError(
                f"`{arg_name}` must hold non-negative integer values. "
                f"Received: {arg_name}={value}")
    if values["log_weights"] is not None and not np.all(
            np.isfinite(values["log_weights"])):
        raise ValueError(
            "`log_weights` must be finite. "
            f"Received: log_weights={values['log_weights']}")
    if values["total_count"] is not None and values["group_sizes"] is not None:
        total = np.sum(values["group_sizes"], axis=-1)
        if np.any(values["total_count"] > total):
            raise ValueError(
                "`total_count` must not exceed sum(group_sizes). Received: "
                f"total_count={values['total_count']}, sum(group_sizes)="
                f"{total}")


def parameter_assertions(total_count, group_sizes, log_weights, is_init, max_count=None):
    """Run-time assertions for `validate_args=True` (see `check_static_arguments`)."""
    assertions = []
    refs = [dtype_util.is_ref(x) for x in (total_count, group_sizes,
                                           log_weights)]
    total_count = tf.convert_to_tensor(total_count)
    group_sizes = tf.convert_to_tensor(group_sizes)
    log_weights = tf.convert_to_tensor(log_weights)
    if is_init != refs[1] or is_init != refs[2]:
        assertions.append(tf.debugging.assert_equal(
            tf.shape(group_sizes)[-1], tf.shape(log_weights)[-1],
            message="`group_sizes` and `log_weights` must have the same "
                    "number of groups K (last axis)."))
        assertions.append(tf.debugging.assert_positive(
            tf.shape(log_weights)[-1],
            message="There must be at least one group (K >= 1)."))
    if is_init != refs[0]:
        assertions.append(tf.debugging.assert_non_negative(
            total_count, message="`total_count` must be non-negative."))
        assertions.append(tf.debugging.assert_equal(
            total_count, tf.round(total_count),
            message="`total_count` must hold integer values."))
        if max_count is not None:
            assertions.append(tf.debugging.assert_less_equal(
                total_count, tf.cast(max_count, total_count.dtype),
                message=f"`total_count` must not exceed max_count={max_count}."))
    if is_init != refs[1]:
        assertions.append(tf.debugging.assert_non_negative(
            group_sizes, message="`group_sizes` must be non-negative."))
        assertions.append(tf.debugging.assert_equal(
            group_sizes, tf.round(group_sizes),
            message="`group_sizes` must hold integer values."))
    if is_init != refs[2]:
        assertions.append(tf.debugging.assert_equal(
            tf.reduce_all(tf.math.is_finite(log_weights)), True,
            message="`log_weights` must be finite."))
    if is_init != refs[0] or is_init != refs[1]:
        assertions.append(tf.debugging.assert_less_equal(
            total_count, tf.reduce_sum(group_sizes, axis=-1),
            message="`total_count` must not exceed sum(group_sizes)."))
    return assertions


def counts_assertions(counts, total_count, group_sizes, dtype):
    """Assertions that `counts` is in the support (for `validate_args`)."""
    counts = tf.convert_to_tensor(counts, dtype=dtype)
    group_sizes = tf.convert_to_tensor(group_sizes)
    total_count = tf.convert_to_tensor(total_count)
    return [
        tf.debugging.assert_equal(
            tf.shape(counts)[-1], tf.shape(group_sizes)[-1],
            message="`counts` must have K entries on the last axis."),
        tf.debugging.assert_equal(
            counts, tf.round(counts),
            message="`counts` must hold integer values."),
        tf.debugging.assert_non_negative(
            counts, message="`counts` must be non-negative."),
        tf.debugging.assert_less_equal(
            counts, group_sizes,
            message="`counts` must not exceed `group_sizes`."),
        tf.debugging.assert_equal(
            tf.reduce_sum(counts, axis=-1),
            tf.broadcast_to(total_count, tf.shape(counts)[:-1]),
            message="`counts` must sum to `total_count` over the last axis."),
    ]



def valid_parameters(total_count, group_sizes, max_count=None):
    """Which batch members have valid parameters (a bool `Tensor` `[...]`).

    Valid: `group_sizes` `[..., K]` and `total_count` `[...]` hold
    non-negative integers, `total_count <= sum(group_sizes)` and, if given,
    `total_count <= max_count` (the static support bound). Parameters
    known only at run time (variables, `tf.function` arguments) escape the
    static checks; the ops compute with `safe_parameters` and return NaN for
    the invalid members (`nan_unless_valid`) rather than plausible numbers
    (`[0, 1, 1.5]` for a total count of 2.5).
    """
    n = tf.cast(total_count, tf.float64)
    m = tf.cast(group_sizes, tf.float64)
    valid = (tf.reduce_all((m >= 0.) & tf.equal(m, tf.round(m)), axis=-1)
             & (n >= 0.) & tf.equal(n, tf.round(n)) & (n <= tf.reduce_sum(m, axis=-1)))
    if max_count is not None:
        valid = valid & (n <= float(max_count))
    return valid


def safe_parameters(total_count, group_sizes, valid):
    """`(total_count, group_sizes)` with invalid batch members replaced by zeros."""
    return (tf.where(valid, total_count, tf.zeros_like(total_count)),
            tf.where(valid[..., tf.newaxis], group_sizes, tf.zeros_like(group_sizes)))


def finite_log_weights(log_weights):
    """Which batch members have finite `log_weights` `[..., K]` (bool `[...]`).

    Non-finite log-weights known only at run time escape the static checks:
    the ops compute with `safe_log_weights` and return NaN for those members.
    """
    return tf.reduce_all(tf.math.is_finite(log_weights), axis=-1)


def safe_log_weights(log_weights, valid):
    """`log_weights` `[..., K]` with the members not `valid` `[...]` set to 0
    (before any other op, so no NaN reaches the values or gradients of the
    others)."""
    return tf.where(valid[..., tf.newaxis], log_weights, tf.zeros_like(log_weights))


def nan_unless_valid(values, valid):
    """`values` `[B..., ...]` with NaN for the batch members where `valid` `[B...]` is False."""
    valid = tf.reshape(valid, tf.concat(
        [tf.shape(valid), tf.ones([values.shape.rank - valid.shape.rank], tf.int32)], 0))
    return tf.where(valid, values, tf.constant(np.nan, values.dtype))
