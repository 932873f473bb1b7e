"""Exact truncated polynomial products in log space."""

import tensorflow as tf

__all__ = ["log_convolve", "safe_reduce_logsumexp"]


def safe_reduce_logsumexp(x, axis):
    """`logsumexp` over `axis` whose gradient is zero (not NaN) for `-inf` rows.

    `tf.reduce_logsumexp` of a row of `-inf` values is `-inf` as it should be,
    but its gradient is `0 / 0 = NaN`. Here the log of an empty sum is taken
    through a double `tf.where`, so such rows get a zero gradient.

    Args:
      x: A floating `Tensor`; entries may be `-inf`.
      axis: Python `int`, the axis to reduce.

    Returns:
      lse: `log(sum(exp(x), axis))`, `-inf` where every entry is `-inf`.
    """
    x_max = tf.stop_gradient(tf.reduce_max(x, axis=axis, keepdims=True))
    x_max = tf.where(tf.math.is_finite(x_max), x_max, tf.zeros_like(x_max))
    total = tf.reduce_sum(tf.exp(x - x_max), axis=axis)
    positive = total > 0.
    safe_total = tf.where(positive, total, tf.ones_like(total))
    neg_inf = tf.constant(-float("inf"), dtype=x.dtype)
    return tf.where(positive,
                    tf.math.log(safe_total) + tf.squeeze(x_max, axis),
                    neg_inf)


def log_convolve(log_a, log_b, name=None):
    """Log-space product of two polynomials, truncated to the common length.

    #### Mathematical Details

    With `a(x) = sum_j a_j x^j` and `b(x) = sum_j b_j x^j` given by their log
    coefficients (`-inf` for a zero coefficient), returns the log
    coefficients of `a(x) b(x)` up to degree `L - 1`:

    ```none
    log c_t = logsumexp_{j=0..t} (log_a[j] + log_b[t - j]),   t = 0..L-1
    ```

    The Toeplitz matrix `log_b[t - j]` is built without a gather by the skew
    trick: tile `[log_b, -inf * L]` `L` times, flatten, keep the first
    `L (2L - 1)` entries and reshape to `[L, 2L - 1]`; row `j` then holds
    `log_b[t - j]` at column `t`. The reduction is a `logsumexp` whose
    gradient is zero (not NaN) on empty rows. Cost: `O(L^2)` time and memory
    per batch member; every term is evaluated, so the result is exact to
    rounding in relative terms for every coefficient, however small.

    Args:
      log_a: A floating `Tensor` of shape `[..., L]`.
      log_b: A floating `Tensor` of shape `[..., L]`, broadcastable with
        `log_a`.
      name: Optional name scope.

    Returns:
      log_c: A `Tensor` of shape `[..., L]`, the log coefficients of the
        truncated product.

    #### Examples

    ```python
    log_a = tf.math.log([1., 2., 1.])                     # (1 + x)^2
    log_b = tf.math.log([1., 1., 0.])                     # 1 + x
    tf.exp(log_convolve(log_a, log_b))                    # [1., 3., 3.]
    ```

    #### References

    [1]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    """
    with tf.name_scope(name or "log_convolve"):
        log_a = tf.convert_to_tensor(log_a, name="log_a")
        log_b = tf.convert_to_tensor(log_b, dtype=log_a.dtype, name="log_b")
        shape = tf.broadcast_dynamic_shape(tf.shape(log_a), tf.shape(log_b))
        log_a = tf.broadcast_to(log_a, shape)
        log_b = tf.broadcast_to(log_b, shape)
        length = tf.compat.dimension_value(log_a.shape[-1])
        if length is None:
            length = tf.shape(log_a)[-1]
        batch_shape = shape[:-1]
        neg_inf = tf.fill(shape, tf.constant(-float("inf"), log_a.dtype))
        padded = tf.concat([log_b, neg_inf], axis=-1)            # [..., 2L]
        tiled = tf.tile(padded[..., tf.newaxis, :],
                        tf.concat([tf.ones_like(batch_shape), [length, 1]], 0))
        flat = tf.reshape(tiled, tf.concat([batch_shape, [-1]], 0))
        flat = flat[..., :length * (2 * length - 1)]
        toeplitz = tf.reshape(
            flat, tf.concat([batch_shape, [length, 2 * length - 1]], 0))
        toeplitz = toeplitz[..., :length]                 # [..., L(j), L(t)]
        terms = log_a[..., :, tf.newaxis] + toeplitz      # [..., L(j), L(t)]
        return safe_reduce_logsumexp(terms, axis=-2)
