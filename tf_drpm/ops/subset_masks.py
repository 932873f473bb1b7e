"""Subset masks over rank positions from subset sizes."""

import tensorflow as tf

from tf_drpm.internal import dtype_util

__all__ = ["subset_masks"]


def subset_masks(counts, num_elements, name=None):
    """Masks that assign rank positions to consecutive subsets.

    Subset `k` takes the rank positions `[nu_k, nu_k + n_k)` where
    `nu_k = n_1 + ... + n_(k-1)`: the first `n_1` sorted elements go to subset 1,
    the next `n_2` to subset 2, and so on (the filling order of the two-stage
    random partition model).

    #### Mathematical Details

    ```none
    c_k = n_1 + ... + n_k                      (c_0 = 0)
    mask[k, r] = H(c_k - r - 1/2) - H(c_(k-1) - r - 1/2),   r = 0..num_elements-1
    ```

    `H` is the Heaviside step. The forward value is exact (0 or 1 for integer
    counts); gradients flow to `counts` by the straight-through estimator with
    the logistic sigmoid (unit slope) as the surrogate of `H`. Cost O(K n).
    Half-precision counts are computed in float32 (float16 and bfloat16 cannot
    hold every position up to `n`) and the masks cast back.

    Args:
        counts: Float `Tensor` of shape `[..., K]`: subset sizes (integer values,
            usually straight-through samples of a relaxed MVHG).
        num_elements: Python `int`, the number of elements `n`.
        name: Optional name scope.

    Returns:
        masks: `Tensor` of shape `[..., K, num_elements]`, dtype of `counts`.

    #### Examples

    ```python
    masks = subset_masks(tf.constant([2., 0., 1.]), num_elements=3)
    # [[1, 1, 0],
    #  [0, 0, 0],
    #  [0, 0, 1]]                                   # Shape [3, 3]
    ```
    """
    with tf.name_scope(name or "subset_masks"):
        counts = tf.convert_to_tensor(counts)
        if not counts.dtype.is_floating:
            counts = tf.cast(counts, tf.float32)
        dtype = counts.dtype
        counts = tf.cast(counts, dtype_util.wide_dtype(dtype))
        ends = tf.cumsum(counts, axis=-1)  # [..., K]
        starts = ends - counts
        positions = tf.range(num_elements, dtype=counts.dtype) + 0.5  # [n]
        below_end = _straight_through_step(ends[..., tf.newaxis] - positions)
        below_start = _straight_through_step(starts[..., tf.newaxis] - positions)
        return tf.cast(below_end - below_start, dtype)


def _straight_through_step(x):
    hard = tf.cast(x > 0, x.dtype)
    soft = tf.sigmoid(x)
    return soft + tf.stop_gradient(hard - soft)
