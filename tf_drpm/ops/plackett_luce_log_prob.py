"""Exact Plackett-Luce log-probability of a hard permutation matrix."""

import tensorflow as tf

from tf_drpm.internal import dtype_util

__all__ = ["plackett_luce_log_prob", "ranked_log_prob"]


def plackett_luce_log_prob(log_scores, permutation, mask=None, name=None):
    """Plackett-Luce log-probability of a permutation matrix, in log space.

    #### Mathematical Details

    The Plackett-Luce distribution with scores `s_i = exp(log_scores_i)` draws
    the element ranked first with probability proportional to `s_i`, then the
    next one among the rest, and so on. For a permutation matrix `P` whose row
    `r` is the one-hot vector of the element at rank position `r` (largest
    first), let `v = P @ log_scores` be the log-scores in rank order. Then

    ```none
    log p(P) = sum_{r=0}^{n-1} [ v_r - logsumexp_{r' >= r} v_{r'} ]
    ```

    The reverse cumulative `logsumexp` never exponentiates the raw scores, so
    `|log_scores|` of 30 and more is safe in float32 (where `exp(30) * n`
    would already lose the small scores).

    `permutation` must be a hard permutation matrix; the value for a soft
    (doubly stochastic) matrix has no probabilistic meaning. With a `mask`,
    the padded elements are left out wherever they are ranked: the value is
    the log-probability of the order of the real elements under the
    Plackett-Luce distribution of the real elements alone.

    Args:
      log_scores: A floating `Tensor` of shape `[..., n]`.
      permutation: A `Tensor` of shape `[..., n, n]` (rows = rank positions,
        columns = elements), broadcastable with `log_scores` in the batch
        dimensions.
      mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` for
        real elements (Keras masking convention).
      name: Optional name scope.

    Returns:
      log_prob: A `Tensor` of the broadcast batch shape `[...]`.

    #### Examples

    ```python
    log_scores = tf.constant([[2., 0., -1.]])             # Shape [1, 3]
    permutation = tf.eye(3)[tf.newaxis]                   # Shape [1, 3, 3]
    plackett_luce_log_prob(log_scores, permutation)       # Shape [1]
    ```

    #### References

    [1]: R. L. Plackett. The Analysis of Permutations. Applied Statistics,
         1975.
    [2]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
         Optimization of Sorting Networks via Continuous Relaxations. ICLR
         2019.
    """
    with tf.name_scope(name or "plackett_luce_log_prob"):
        dtype = dtype_util.common_dtype([log_scores, permutation], tf.float32)
        log_scores = tf.convert_to_tensor(log_scores, dtype, name="log_scores")
        permutation = tf.convert_to_tensor(
            permutation, dtype, name="permutation")
        # [..., n]: log-score of the element at each rank position. (Not
        # `tf.linalg.matvec`: TF 2.21's oneDNN float32 batch matmul returns
        # wrong values when a batch-1 operand is broadcast, e.g. [4, 1, n, n]
        # times [1, n, 1].)
        if mask is None:
            ranked = tf.reduce_sum(
                permutation * log_scores[..., tf.newaxis, :], axis=-1)
            return ranked_log_prob(ranked)
        mask = tf.convert_to_tensor(mask, tf.bool)
        log_scores = tf.where(mask, log_scores, tf.zeros_like(log_scores))
        ranked = tf.reduce_sum(permutation * log_scores[..., tf.newaxis, :], axis=-1)
        ranked_mask = tf.reduce_sum(
            permutation * tf.cast(mask, dtype)[..., tf.newaxis, :], axis=-1) > 0.5
        return ranked_log_prob(ranked, ranked_mask)


def ranked_log_prob(ranked_log_scores, mask=None, name=None):
    """Plackett-Luce log-probability of an order, given the log-scores in that order.

    #### Mathematical Details

    ```none
    log p = sum_r [ v_r - logsumexp_{r' >= r} v_{r'} ]      v = ranked_log_scores
    ```

    (one reverse cumulative `logsumexp`, O(n), no permutation matrix).
    Positions where `mask` is `False` are left out (padded elements).

    Args:
      ranked_log_scores: A floating `Tensor` `[..., n]`, the log-scores of the
        elements at rank positions `0..n-1`.
      mask: Optional boolean `Tensor` broadcastable to `[..., n]`, `True` where
        the element at that rank position is real.
      name: Optional name scope.

    Returns:
      log_prob: A `Tensor` `[...]`.

    #### Examples

    ```python
    ranked_log_prob(tf.math.log([3., 2., 1.]))   # log(3/6 * 2/3 * 1/1)   # Shape []
    ```
    """
    with tf.name_scope(name or "ranked_log_prob"):
        ranked = tf.convert_to_tensor(ranked_log_scores)
        if mask is not None:
            mask = tf.broadcast_to(tf.convert_to_tensor(mask, tf.bool), tf.shape(ranked))
            # A finite stand-in (not -inf) keeps values and gradients finite.
            ranked = tf.where(mask, ranked, tf.constant(
                dtype_util.masked_logit(ranked.dtype), ranked.dtype))
        # [..., n]: log of the scores still available at each position.
        log_remaining = tf.math.cumulative_logsumexp(ranked, axis=-1, reverse=True)
        terms = ranked - log_remaining
        if mask is not None:
            terms = tf.where(mask, terms, tf.zeros_like(terms))
        return tf.reduce_sum(terms, axis=-1)
