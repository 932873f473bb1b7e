"""Exact Plackett-Luce log-probability of a hard permutation matrix."""

import tensorflow as tf

from tf_drpm.internal import dtype_util

__all__ = ["plackett_luce_log_prob"]


def plackett_luce_log_prob(log_scores, permutation, name=None):
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
    (doubly stochastic) matrix has no probabilistic meaning.

    Args:
      log_scores: A floating `Tensor` of shape `[..., n]`.
      permutation: A `Tensor` of shape `[..., n, n]` (rows = rank positions,
        columns = elements), broadcastable with `log_scores` in the batch
        dimensions.
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
        ranked = tf.reduce_sum(
            permutation * log_scores[..., tf.newaxis, :], axis=-1)
        # [..., n]: log of the scores still available at each position.
        log_remaining = tf.math.cumulative_logsumexp(
            ranked, axis=-1, reverse=True)
        return tf.reduce_sum(ranked - log_remaining, axis=-1)
