"""Subset masks applied to a NeuralSort matrix without materialising it."""

import tensorflow as tf

from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util
from tf_drpm.ops.neural_sort import apply_permutation
from tf_drpm.ops.neural_sort import descending_order_and_rank
from tf_drpm.ops.neural_sort import pairwise_abs_rowsum

__all__ = ["hard_sort_partition", "soft_sort_partition", "sort_partition"]


def soft_sort_partition(masks, log_scores, temperature, chunk_size=256, masks_gradient=True,
                        mask=None, name=None):
    """Computes `masks @ neural_sort(log_scores, temperature)` in O(chunk * n) memory.

    The relaxed partition of the DRPM sums the rows of a relaxed permutation
    matrix block by block. This op never builds the `[n, n]` matrix: rank
    positions are processed `chunk_size` rows at a time and the custom gradient
    recomputes each chunk instead of storing it, so memory stays
    O(batch * chunk_size * n) for the forward and backward pass.

    #### Mathematical Details

    ```none
    A_i     = sum_j |s_i - s_j|
    P[r, i] = softmax_i(((n - 1 - 2 r) s_i - A_i) / temperature)   (NeuralSort)
    Y[k, i] = sum_r masks[k, r] P[r, i]
    ```

    Gradients w.r.t. `masks`, `log_scores` and `temperature` are exact
    gradients of this expression.

    With an element `mask` (padded sets), a batch member with `m` real
    elements uses the NeuralSort of its real elements alone (`m` for `n`,
    `A_i` summed over real elements, the softmax over real elements) and the
    rank rows `0..m-1` of `masks`: padded elements get all-zero columns, and
    values and gradients are those of the unpadded set.

    Args:
        masks: Float `Tensor` `[..., K, n]` (e.g. from `subset_masks`).
        log_scores: Float `Tensor` `[..., n]`.
        temperature: Positive float `Tensor` broadcastable to the batch shape.
        chunk_size: Python `int`, rank rows processed at once.
        masks_gradient: Python `bool`; if `False` the gradient w.r.t. `masks`
            is not computed (it is returned as zeros), which saves a matmul per
            chunk when `masks` is a constant.
        mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
            real elements (Keras masking convention).
        name: Optional name scope.

    Returns:
        partition: `Tensor` `[..., K, n]`: the relaxed partition.

    Raises:
        ValueError: If `temperature` is statically known and not positive, or
            `chunk_size` is not a positive integer.

    #### Examples

    ```python
    masks = subset_masks(tf.constant([2., 1.]), num_elements=3)   # [2, 3]
    y = soft_sort_partition(masks, tf.constant([0.3, 2., -1.]), 0.1)
    # ~ [[1, 1, 0], [0, 0, 1]]                                      # Shape [2, 3]
    ```

    #### References

    [1]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
         Optimization of Sorting Networks via Continuous Relaxations. ICLR 2019.
    """
    with tf.name_scope(name or "soft_sort_partition"):
        log_scores = tf.convert_to_tensor(log_scores)
        dtype = log_scores.dtype
        masks = tf.convert_to_tensor(masks, dtype=dtype)
        temperature = tf.convert_to_tensor(temperature, dtype=dtype)
        arg_util.check_static_positive(temperature, "temperature")
        chunk_size = arg_util.check_int(chunk_size, "chunk_size", minimum=1)
        num_subsets = tf.compat.dimension_value(masks.shape[-2])
        num_elements = tf.compat.dimension_value(log_scores.shape[-1])
        batch_shape = tf.broadcast_dynamic_shape(
            tf.broadcast_dynamic_shape(tf.shape(log_scores)[:-1], tf.shape(masks)[:-2]),
            tf.shape(temperature))
        flat_masks = tf.reshape(
            tf.broadcast_to(masks, tf.concat([batch_shape, [num_subsets, num_elements]], 0)),
            [-1, num_subsets, num_elements])
        flat_scores = tf.reshape(
            tf.broadcast_to(log_scores, tf.concat([batch_shape, [num_elements]], 0)),
            [-1, num_elements])
        flat_temperature = tf.reshape(tf.broadcast_to(temperature, batch_shape), [-1])
        flat_mask = None
        if mask is not None:
            flat_mask = tf.reshape(dtype_util.element_mask(
                mask, tf.concat([batch_shape, [num_elements]], 0)), [-1, num_elements])
            flat_masks = _drop_ranks_past_real(flat_masks, flat_mask)
            flat_scores = tf.where(flat_mask, flat_scores, tf.zeros_like(flat_scores))
        rowsum = pairwise_abs_rowsum(flat_scores, flat_mask)
        result = _masked_neural_sort(
            flat_masks, flat_scores, rowsum, flat_temperature, chunk_size,
            bool(masks_gradient), flat_mask)
        return tf.reshape(result, tf.concat([batch_shape, [num_subsets, num_elements]], 0))


def sort_partition(masks, log_scores, temperature, hard=False, chunk_size=256,
                   mask=None, name=None):
    """Fills rank-ordered subset masks with the elements sorted by score.

    `soft_sort_partition` with a straight-through option: with `hard=True` the
    forward value is the exact partition `masks @ P_hard` (each element takes
    the mask column of its rank in the descending order of `log_scores`),
    the gradient w.r.t. `masks` goes through `P_hard` and the gradient w.r.t.
    `log_scores` and `temperature` through the relaxed `P` (NeuralSort).

    #### Mathematical Details

    ```none
    hard=False:  Y = masks @ P
    hard=True:   Y = masks @ P_hard + (masks @ P - stop_gradient(masks @ P))
    ```

    Args:
        masks: Float `Tensor` `[..., K, n]`, rows by rank (`subset_masks`).
        log_scores: Float `Tensor` `[..., n]`.
        temperature: Positive float `Tensor` broadcastable to the batch shape.
        hard: Python `bool`, straight-through exact partition.
        chunk_size: Python `int`, see `soft_sort_partition`.
        mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
            real elements (padded sets, see `soft_sort_partition`); padded
            elements rank after every real one and get all-zero columns.
        name: Optional name scope.

    Returns:
        partition: `Tensor` `[..., K, n]`.

    #### Examples

    ```python
    masks = subset_masks(tf.constant([2., 1.]), num_elements=3)
    y = sort_partition(masks, tf.constant([0.3, 2., -1.]), 1.0, hard=True)
    # [[1, 1, 0], [0, 0, 1]] exactly                                  # Shape [2, 3]
    ```
    """
    with tf.name_scope(name or "sort_partition"):
        log_scores = tf.convert_to_tensor(log_scores)
        masks = tf.convert_to_tensor(masks, dtype=log_scores.dtype)
        if not hard:
            return soft_sort_partition(masks, log_scores, temperature, chunk_size, mask=mask)
        masks, scores = _broadcast_batches(masks, log_scores)
        hard_part = _hard_partition(masks, scores, mask)
        soft_part = soft_sort_partition(
            tf.stop_gradient(masks), scores, temperature, chunk_size,
            masks_gradient=False, mask=mask)
        return hard_part + (soft_part - tf.stop_gradient(soft_part))


def hard_sort_partition(masks, log_scores, mask=None, name=None):
    """Fills rank-ordered subset masks with the elements in descending score order.

    The exact partition `masks @ P_hard`, `P_hard` the permutation matrix of the
    (stable) descending sort of `log_scores`: each element takes the mask
    column of its rank, in O(K n) memory after one sort. It is the forward
    value of `sort_partition(..., hard=True)`, without the relaxation (the
    gradient reaches `masks` only).

    Args:
        masks: Float `Tensor` `[..., K, n]`, rows by rank (`subset_masks`).
        log_scores: Float `Tensor` `[..., n]`.
        mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
            real elements; padded elements rank after every real one and get
            all-zero columns.
        name: Optional name scope.

    Returns:
        partition: `Tensor` `[..., K, n]`, dtype of `log_scores`.

    #### Examples

    ```python
    masks = subset_masks(tf.constant([2., 1.]), num_elements=3)
    y = hard_sort_partition(masks, tf.constant([0.3, 2., -1.]))
    # [[1, 1, 0], [0, 0, 1]]                                          # Shape [2, 3]
    ```
    """
    with tf.name_scope(name or "hard_sort_partition"):
        log_scores = tf.convert_to_tensor(log_scores)
        masks = tf.convert_to_tensor(masks, dtype=log_scores.dtype)
        masks, scores = _broadcast_batches(masks, log_scores)
        return _hard_partition(masks, scores, mask)


def _broadcast_batches(masks, log_scores):
    """`masks` `[B..., K, n]` and `log_scores` `[B..., n]` on their common batch shape."""
    batch_shape = tf.broadcast_dynamic_shape(tf.shape(log_scores)[:-1], tf.shape(masks)[:-2])
    scores = tf.broadcast_to(log_scores, tf.concat([batch_shape, tf.shape(log_scores)[-1:]], 0))
    masks = tf.broadcast_to(masks, tf.concat([batch_shape, tf.shape(masks)[-2:]], 0))
    return masks, scores


def _hard_partition(masks, scores, mask):
    """`masks @ P_hard` by a gather: element i takes the mask column of its rank."""
    if mask is not None:
        masks = _drop_ranks_past_real(masks, tf.broadcast_to(mask, tf.shape(scores)))
    order, rank = descending_order_and_rank(scores, mask)  # rank of each element
    return apply_permutation(masks, rank, order)


def _drop_ranks_past_real(masks, mask):
    """`masks` `[..., K, n]` with the rank rows at or past the number of real
    elements (`mask` `[..., n]`) set to 0: they take no part, not even in the
    straight-through gradient (as in the unpadded model)."""
    num_real = tf.reduce_sum(tf.cast(mask, masks.dtype), axis=-1, keepdims=True)  # [..., 1]
    rank = tf.range(tf.shape(masks)[-1])
    return masks * tf.cast(tf.cast(rank, masks.dtype) < num_real, masks.dtype)[..., tf.newaxis, :]


def _chunk_logits(scores, rowsum, temperature, start, chunk_size, num_elements, mask=None):
    """Logits [B, C, n] of rank rows start..start+C and their coefficients.

    The coefficients are [C], or [B, C] with an element `mask` [B, n] (whose
    number of real elements replaces `num_elements`); padded columns get
    `masked_logit`.
    """
    rank = tf.cast(start + tf.range(chunk_size), scores.dtype)
    if mask is None:
        coefficient = (num_elements - 1.0) - 2.0 * rank  # [C]
        logits = coefficient[:, tf.newaxis] * scores[:, tf.newaxis, :] - rowsum[:, tf.newaxis, :]
        return logits / temperature[:, tf.newaxis, tf.newaxis], coefficient  # [B, C, n]
    num_real = tf.reduce_sum(tf.cast(mask, scores.dtype), axis=-1, keepdims=True)  # [B, 1]
    coefficient = (num_real - 1.0) - 2.0 * rank  # [B, C]
    logits = coefficient[..., tf.newaxis] * scores[:, tf.newaxis, :] - rowsum[:, tf.newaxis, :]
    logits = tf.where(mask[:, tf.newaxis, :], logits / temperature[:, tf.newaxis, tf.newaxis],
                      tf.constant(dtype_util.masked_logit(scores.dtype), scores.dtype))
    return logits, coefficient


def _masked_neural_sort(masks, scores, rowsum, temperature, chunk_size, masks_gradient,
                        mask=None):
    """masks [B, K, n], scores/rowsum [B, n], temperature [B], mask [B, n] -> [B, K, n]."""
    num_elements = scores.shape[-1]
    chunk_size = max(1, min(chunk_size, num_elements))
    num_chunks = -(-num_elements // chunk_size)
    padding = num_chunks * chunk_size - num_elements
    if num_chunks == 1:
        # One chunk: plain autodiff (keeps the softmax for the backward pass,
        # which is cheaper than recomputing it and fits in memory).
        logits, _ = _chunk_logits(scores, rowsum, temperature, 0, num_elements, num_elements,
                                  mask)
        if not masks_gradient:
            masks = tf.stop_gradient(masks)
        return tf.linalg.matmul(masks, tf.nn.softmax(logits, axis=-1))

    def mask_chunks(masks):
        # [B, K, n] -> [num_chunks, B, K, C]; padded rank rows are all-zero.
        padded = tf.pad(masks, [[0, 0], [0, 0], [0, padding]])
        shape = tf.shape(padded)
        chunked = tf.reshape(padded, [shape[0], shape[1], num_chunks, chunk_size])
        return tf.transpose(chunked, [2, 0, 1, 3])

    # A while loop (not an unrolled Python loop) keeps one chunk alive at a
    # time, also under XLA.
    @tf.custom_gradient
    def forward(masks, scores, rowsum, temperature):
        chunked_masks = mask_chunks(masks)

        def body(index, result):
            logits, _ = _chunk_logits(
                scores, rowsum, temperature, index * chunk_size, chunk_size, num_elements, mask)
            probs = tf.nn.softmax(logits, axis=-1)
            return index + 1, result + tf.linalg.matmul(chunked_masks[index], probs)

        _, result = tf.while_loop(
            lambda index, _: index < num_chunks, body, (0, tf.zeros_like(masks)))

        def grad(upstream):
            def grad_body(index, d_masks, d_scores, d_rowsum, d_temperature):
                logits, coefficient = _chunk_logits(
                    scores, rowsum, temperature, index * chunk_size, chunk_size, num_elements,
                    mask)
                probs = tf.nn.softmax(logits, axis=-1)  # [B, C, n]
                mask_chunk = chunked_masks[index]  # [B, K, C]
                d_probs = tf.linalg.matmul(mask_chunk, upstream, transpose_a=True)  # [B, C, n]
                if masks_gradient:
                    d_masks = d_masks.write(
                        index, tf.linalg.matmul(upstream, probs, transpose_b=True))
                d_logits = probs * (d_probs - tf.reduce_sum(probs * d_probs, -1, keepdims=True))
                scaled = d_logits / temperature[:, tf.newaxis, tf.newaxis]
                if mask is None:
                    d_scores += tf.einsum("bci,c->bi", scaled, coefficient)
                else:
                    # Padded columns: probs and d_logits are exactly 0 there.
                    d_scores += tf.einsum("bci,bc->bi", scaled, coefficient)
                    logits = tf.where(mask[:, tf.newaxis, :], logits, tf.zeros_like(logits))
                d_rowsum -= tf.reduce_sum(scaled, axis=1)
                d_temperature -= tf.reduce_sum(scaled * logits, axis=[1, 2])
                return index + 1, d_masks, d_scores, d_rowsum, d_temperature

            initial = (
                0,
                tf.TensorArray(masks.dtype, size=num_chunks),
                tf.zeros_like(scores),
                tf.zeros_like(rowsum),
                tf.zeros_like(temperature),
            )
            _, d_masks, d_scores, d_rowsum, d_temperature = tf.while_loop(
                lambda index, *_: index < num_chunks, grad_body, initial)
            if masks_gradient:
                d_masks = tf.transpose(d_masks.stack(), [1, 2, 0, 3])  # [B, K, nc, C]
                shape = tf.shape(masks)
                d_masks = tf.reshape(d_masks, [shape[0], shape[1], -1])[:, :, :num_elements]
            else:
                d_masks = tf.zeros_like(masks)
            return d_masks, d_scores, d_rowsum, d_temperature

        return result, grad

    return forward(masks, scores, rowsum, temperature)
