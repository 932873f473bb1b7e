"""Straight-through estimator."""

import tensorflow as tf

__all__ = ["straight_through"]


def straight_through(hard, soft, name=None):
    """Returns `hard` in the forward pass and the gradient of `soft` backward.

    #### Mathematical Details

    ```none
    straight_through(hard, soft) = hard + (soft - stop_gradient(soft))
    d straight_through / d theta = d soft / d theta
    ```

    This equals `soft + stop_gradient(hard - soft)` in exact arithmetic, but the
    forward value is exactly `hard` in floating point too (`soft - soft` is an
    exact zero for finite `soft`), so a hard permutation or one-hot stays
    exactly binary. No gradient flows to `hard`. The estimator is biased.

    Args:
      hard: A `Tensor`, the forward value (e.g. a permutation matrix).
      soft: A `Tensor` broadcastable with `hard`, whose gradient is used.
      name: Optional name scope.

    Returns:
      output: A `Tensor` equal to `hard` (broadcast against `soft`).

    #### Examples

    ```python
    soft = tf.nn.softmax(logits)                          # Shape [B, K]
    hard = tf.one_hot(tf.argmax(soft, -1), K)             # Shape [B, K]
    y = straight_through(hard, soft)                      # Shape [B, K]
    ```

    #### References

    [1]: Yoshua Bengio, Nicholas Leonard, Aaron Courville. Estimating or
         Propagating Gradients Through Stochastic Neurons for Conditional
         Computation. arXiv:1308.3432, 2013.
    """
    with tf.name_scope(name or "straight_through"):
        soft = tf.convert_to_tensor(soft, name="soft")
        hard = tf.convert_to_tensor(hard, dtype=soft.dtype, name="hard")
        hard = tf.stop_gradient(hard)
        return hard + (soft - tf.stop_gradient(soft))
