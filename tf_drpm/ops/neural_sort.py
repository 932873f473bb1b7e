"""NeuralSort: a continuous relaxation of the sorting permutation."""

import numpy as np
import tensorflow as tf

from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util
from tf_drpm.ops.straight_through import straight_through

__all__ = [
    "apply_permutation",
    "descending_order",
    "descending_order_and_rank",
    "hard_sort_permutation",
    "neural_sort",
    "pairwise_abs_rowsum",
    "stable_sort_indices",
]

# Rows of at most this many elements are ranked by O(n^2) comparisons rather
# than sorted: XLA's CPU sort of many short rows is several times slower
# (docs/benchmarks.md, "Where the time goes"). Above it the sort wins.
_DENSE_RANK_MAX_LENGTH = 256


def _flatten_batch(values):
    """Reshapes `[..., n]` to `[B, n]`; returns it and the original shape."""
    shape = tf.shape(values)
    return tf.reshape(values, [-1, shape[-1]]), shape


def pairwise_abs_rowsum(values, mask=None, name=None):
    """Row sums of the pairwise absolute differences, in O(n log n).

    #### Mathematical Details

    ```none
    A_i = sum_j |x_i - x_j|          (j over the real elements when masked)
    ```

    With `y = sort(x)` (ascending), `c_k = y_0 + ... + y_k` and `T = c_{n-1}`,
    the element at sorted position `k` has

    ```none
    A_(k) = (2 k + 2 - n) y_k + T - 2 c_k
    ```

    so one sort and one cumulative sum replace the `[n, n]` matrix of the
    naive computation (for `n <= 256` the sort is `O(n^2)` integer ranking,
    see `stable_sort_indices`: the same order, faster under XLA). The values are centred by their mean first (this leaves
    every `A_i` unchanged) to limit cancellation in `T - 2 c_k`. The result is
    differentiable; its gradient is `sum_j sign(x_i - x_j)` (the gradient of
    the naive formula, with ties contributing 0 up to the sort's tie order).

    With a `mask` the padded elements are left out: the real values are
    centred by their own mean, the padded ones set to 0, and their
    contribution `n_padded |x_i|` is subtracted. Padded entries of the result
    are 0.

    Args:
      values: A floating `Tensor` of shape `[..., n]`.
      mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
        real elements (Keras masking convention).
      name: Optional name scope.

    Returns:
      rowsum: A `Tensor` of shape `[..., n]`.

    #### Examples

    ```python
    pairwise_abs_rowsum(tf.constant([[3., 1., 2.]]))   # [[3., 3., 2.]], shape [1, 3]
    ```
    """
    with tf.name_scope(name or "pairwise_abs_rowsum"):
        values = tf.convert_to_tensor(values, name="values")
        mask = dtype_util.element_mask(mask, tf.shape(values))
        if mask is None:
            values = values - tf.reduce_mean(values, axis=-1, keepdims=True)
        else:
            values = _centre_real(values, mask)
        flat, shape = _flatten_batch(values)                      # [B, n]
        n = tf.shape(flat)[-1]
        order, inverse_order = stable_sort_indices(flat)          # [B, n] each
        sorted_values = apply_permutation(flat, order, inverse_order)  # [B, n]
        cumulative = tf.cumsum(sorted_values, axis=-1)            # [B, n]
        total = cumulative[:, -1:]                                # [B, 1]
        position = tf.cast(tf.range(n), values.dtype)             # [n]
        n_float = tf.cast(n, values.dtype)
        sorted_rowsum = ((2. * position + 2. - n_float) * sorted_values
                         + total - 2. * cumulative)               # [B, n]
        # Back to the original element order.
        rowsum = apply_permutation(sorted_rowsum, inverse_order, order)
        rowsum = tf.reshape(rowsum, shape)
        if mask is None:
            return rowsum
        # Padded values are 0: each added |x_i - 0| to every A_i.
        num_padded = tf.reduce_sum(tf.cast(~mask, values.dtype), axis=-1, keepdims=True)
        return tf.where(mask, rowsum - num_padded * tf.abs(values), tf.zeros_like(rowsum))


def apply_permutation(values, order, inverse_order, name=None):
    """Permutes the last axis of `values`; the gradient is the inverse permutation.

    #### Mathematical Details

    ```none
    output[..., i]      = values[..., order[i]]
    d values[..., j]    = d output[..., inverse_order[j]]
    ```

    `tf.gather` differentiates into a scatter-add, which XLA on CPU runs as a
    serial loop; a permutation's gradient is another gather. The values are
    those of `tf.gather(values, order, axis=-1, batch_dims=...)` and so is
    the gradient (each entry receives exactly one upstream value).

    Args:
      values: A `Tensor` `[B..., M..., n]`.
      order: An integer `Tensor` `[B..., n]`, a permutation of `0..n-1` per
        batch member (`B...` are the leading batch dimensions of `values`).
      inverse_order: An integer `Tensor` `[B..., n]`, the inverse of `order`
        (`order[inverse_order[j]] = j`), e.g. the `rank` of
        `stable_sort_indices`.
      name: Optional name scope.

    Returns:
      permuted: A `Tensor` of the shape and dtype of `values`.

    #### Examples

    ```python
    order, rank = stable_sort_indices(tf.constant([[3., 1., 2.]]))
    apply_permutation(tf.constant([[3., 1., 2.]]), order, rank)   # [[1., 2., 3.]]
    ```
    """
    with tf.name_scope(name or "apply_permutation"):
        values = tf.convert_to_tensor(values, name="values")
        order = tf.convert_to_tensor(order, name="order")
        inverse_order = tf.convert_to_tensor(inverse_order, name="inverse_order")
        if order.shape.rank is None:
            raise ValueError(
                f"The rank of `order` must be static. Received: order with shape {order.shape}")
        batch_dims = order.shape.rank - 1

        @tf.custom_gradient
        def permute(values):
            def grad(upstream):
                return tf.gather(upstream, inverse_order, axis=-1, batch_dims=batch_dims)
            return tf.gather(values, order, axis=-1, batch_dims=batch_dims), grad

        return permute(values)


def _centre_real(values, mask):
    """Real values minus their mean; padded values 0."""
    real = tf.cast(mask, values.dtype)
    count = tf.maximum(tf.reduce_sum(real, axis=-1, keepdims=True), 1.)
    mean = tf.reduce_sum(tf.where(mask, values, tf.zeros_like(values)), axis=-1,
                         keepdims=True) / count
    return tf.where(mask, values - mean, tf.zeros_like(values))


def hard_sort_permutation(log_scores, mask=None, name=None):
    """Exact permutation matrix sorting `log_scores` in descending order.

    #### Mathematical Details

    ```none
    P[r, i] = 1  iff  element i has rank r in a stable descending sort
    ```

    Rows are rank positions (largest score first), columns are elements. Ties
    are broken by the lower element index first, so `P` is a valid permutation
    matrix (one 1 per row and per column) even for exactly tied scores. With
    a `mask`, the padded elements take the last rank positions, in index
    order.

    Args:
      log_scores: A floating `Tensor` of shape `[..., n]`.
      mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
        real elements.
      name: Optional name scope.

    Returns:
      permutation: A `Tensor` of shape `[..., n, n]` and the dtype of
        `log_scores`, without gradient.

    #### Examples

    ```python
    hard_sort_permutation(tf.constant([1., 3., 3.]))
    # [[0, 1, 0], [0, 0, 1], [1, 0, 0]], shape [3, 3]
    ```
    """
    with tf.name_scope(name or "hard_sort_permutation"):
        log_scores = tf.convert_to_tensor(log_scores, name="log_scores")
        n = tf.compat.dimension_value(log_scores.shape[-1])
        if n is None:
            n = tf.shape(log_scores)[-1]
        order = descending_order(log_scores, mask)                # [..., n]
        return tf.one_hot(order, n, dtype=log_scores.dtype)       # [..., n, n]


def descending_order(log_scores, mask=None):
    """Stable descending argsort; padded elements (mask False) last, by index."""
    return descending_order_and_rank(log_scores, mask)[0]


def descending_order_and_rank(log_scores, mask=None):
    """`descending_order` and its inverse, the rank of each element (both `[..., n]`)."""
    if mask is not None:
        mask = dtype_util.element_mask(mask, tf.shape(log_scores))
        log_scores = tf.where(mask, log_scores, tf.constant(-np.inf, log_scores.dtype))
    return stable_sort_indices(log_scores, direction="DESCENDING")


def stable_sort_indices(values, direction="ASCENDING", name=None):
    """Stable argsort of the last axis and its inverse permutation.

    #### Mathematical Details

    ```none
    order = argsort(values, direction, stable)    # element at sorted position k
    rank  = argsort(order)                        # sorted position of element i
    rank[i] = #{j : values[j] before values[i]} + #{j < i : values[j] == values[i]}
    ```

    ("before": smaller for `"ASCENDING"`, larger for `"DESCENDING"`.) Rows
    of a static length `n <= 256` are ranked by the count above, `O(n^2)`
    comparisons, and `order` is scattered from `rank`: the integers of the
    two stable `tf.argsort` calls (ties to the lower index), without a sort,
    which XLA on CPU runs slowly for many short rows. Longer rows, or rows
    of unknown length, use the two sorts. NaN values rank with `+inf`
    (ascending) or `-inf` (descending), ties by index, so both outputs are
    always permutations.

    Args:
      values: A floating or integer `Tensor` `[..., n]`.
      direction: `"ASCENDING"` or `"DESCENDING"`.
      name: Optional name scope.

    Returns:
      order: An `int32` `Tensor` `[..., n]`.
      rank: An `int32` `Tensor` `[..., n]`, the inverse permutation of `order`.

    #### Examples

    ```python
    stable_sort_indices(tf.constant([3., 1., 3., 2.]), "DESCENDING")
    # order [0, 2, 3, 1], rank [0, 3, 1, 2]
    ```
    """
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(
            f"`direction` must be 'ASCENDING' or 'DESCENDING'. Received: direction={direction}")
    with tf.name_scope(name or "stable_sort_indices"):
        values = tf.convert_to_tensor(values, name="values")
        n = tf.compat.dimension_value(values.shape[-1])
        if n is None or n > _DENSE_RANK_MAX_LENGTH:
            order = tf.argsort(values, axis=-1, direction=direction, stable=True)
            return order, tf.argsort(order, axis=-1, stable=True)
        shape = tf.shape(values)
        flat = tf.reshape(values, [-1, n])                           # [B, n]
        if flat.dtype.is_floating:
            last = np.inf if direction == "ASCENDING" else -np.inf
            flat = tf.where(tf.math.is_nan(flat), tf.constant(last, flat.dtype), flat)
        this = flat[:, :, tf.newaxis]                                # [B, n(i), 1]
        other = flat[:, tf.newaxis, :]                               # [B, 1, n(j)]
        index = tf.range(n)
        earlier = index[tf.newaxis, :] < index[:, tf.newaxis]        # [n(i), n(j)]: j < i
        ahead = other < this if direction == "ASCENDING" else other > this
        ahead = ahead | ((other == this) & earlier)
        rank = tf.reduce_sum(tf.cast(ahead, tf.int32), axis=-1)      # [B, n]
        rows = tf.broadcast_to(tf.range(tf.shape(flat)[0])[:, tf.newaxis], tf.shape(rank))
        order = tf.scatter_nd(tf.stack([rows, rank], axis=-1),
                              tf.broadcast_to(index, tf.shape(rank)), tf.shape(rank))
        return tf.reshape(order, shape), tf.reshape(rank, shape)


def neural_sort(log_scores, temperature, hard=False, mask=None, name=None):
    """NeuralSort relaxation of the descending sort permutation.

    #### Mathematical Details

    For scores `s = log_scores` of `n` elements and `A_i = sum_j |s_i - s_j|`,
    the relaxed permutation matrix has rows `r = 0, ..., n - 1` (rank
    positions, largest first) and columns `i` (elements):

    ```none
    P[r, i] = softmax_i( ((n + 1 - 2 (r + 1)) s_i - A_i) / temperature )
    ```

    Each row sums to 1 and, for distinct scores, `P` tends to the exact sort
    permutation as `temperature -> 0`. `A` is computed by
    `pairwise_abs_rowsum` in O(n log n), so no `[n, n]` matrix of differences
    is built (the output itself is `[n, n]`).

    With `hard=True` the forward value is `hard_sort_permutation(log_scores)`
    (stable descending argsort: ties go to the lower index first, so it is
    always a valid permutation matrix) and the gradient is that of the soft
    `P` (straight-through, biased). Stochastic NeuralSort is
    `neural_sort(log_scores + gumbel, temperature)`.

    With a `mask` (padded sets), a batch member with `m` real elements gets
    the NeuralSort of its real elements alone in rows `0..m-1` and columns
    of the real elements (the formula above with `m` for `n` and the sum
    `A_i` over real elements), so its values and gradients are those of the
    unpadded set; rows `m..n-1` hold the padded elements in index order
    (constant, no gradient).

    Args:
      log_scores: A floating `Tensor` of shape `[..., n]`.
      temperature: A positive scalar or a `Tensor` broadcastable to the batch
        shape `[...]` of `log_scores`.
      hard: Python `bool`; if `True`, return the straight-through hard
        permutation. Default: `False`.
      mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
        real elements (Keras masking convention).
      name: Optional name scope.

    Returns:
      permutation: A `Tensor` of shape `[..., n, n]` (broadcast with the
        shape of `temperature`).

    Raises:
      ValueError: If `temperature` is statically known and not positive.
      TypeError: If `log_scores` and `temperature` have different dtypes.

    #### Examples

    ```python
    log_scores = tf.random.normal([8, 5])                  # Shape [8, 5]
    p_soft = neural_sort(log_scores, temperature=0.1)      # Shape [8, 5, 5]
    p_hard = neural_sort(log_scores, 0.1, hard=True)       # Shape [8, 5, 5]
    ```

    #### References

    [1]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
         Optimization of Sorting Networks via Continuous Relaxations. ICLR
         2019.
    """
    with tf.name_scope(name or "neural_sort"):
        dtype = dtype_util.common_dtype([log_scores, temperature], tf.float32)
        log_scores = tf.convert_to_tensor(log_scores, dtype, name="log_scores")
        temperature = tf.convert_to_tensor(
            temperature, dtype, name="temperature")
        arg_util.check_static_positive(temperature, "temperature")
        n = tf.compat.dimension_value(log_scores.shape[-1])
        if n is None:
            n = tf.shape(log_scores)[-1]
        n_float = tf.cast(n, dtype)
        mask = dtype_util.element_mask(mask, tf.shape(log_scores))
        # Centring leaves the softmax unchanged (each row shifts by a constant)
        # and keeps the logits small.
        if mask is None:
            centred = log_scores - tf.reduce_mean(log_scores, axis=-1,
                                                  keepdims=True)  # [..., n]
        else:
            centred = _centre_real(log_scores, mask)
            # [..., 1]: the number of real elements replaces n below.
            n_float = tf.reduce_sum(tf.cast(mask, dtype), axis=-1, keepdims=True)
        rowsum = pairwise_abs_rowsum(centred, mask)             # [..., n]
        # [n] (or [..., n]): n + 1 - 2 (r + 1) for rank positions r.
        rank = tf.cast(tf.range(n), dtype)
        scaling = n_float - 1. - 2. * rank
        # Divide the [..., n] vectors by the temperature before the outer
        # product, so only one [..., n, n] tensor is built before the softmax.
        inverse_temperature = tf.math.reciprocal(
            temperature)[..., tf.newaxis]                       # [..., 1]
        scaled_scores = centred * inverse_temperature            # [..., n]
        scaled_rowsum = rowsum * inverse_temperature             # [..., n]
        logits = (scaling[..., tf.newaxis] * scaled_scores[..., tf.newaxis, :]
                  - scaled_rowsum[..., tf.newaxis, :])          # [..., n, n]
        if mask is not None:
            logits = tf.where(mask[..., tf.newaxis, :], logits,
                              tf.constant(dtype_util.masked_logit(dtype), dtype))
        soft = tf.nn.softmax(logits, axis=-1)                   # [..., n, n]
        if mask is not None:
            permutation = hard_sort_permutation(log_scores, mask)
            real_rank = rank < n_float                          # [..., n]
            soft = tf.where(real_rank[..., tf.newaxis], soft, permutation)
        if not hard:
            return soft
        if mask is None:
            permutation = hard_sort_permutation(log_scores)     # [..., n, n]
        return straight_through(permutation, soft)
