"""Scaling of hand-written losses for `tf.distribute` (one helper for every model).

Keras scales only the *compiled* loss by `1 / num_replicas_in_sync`. Under a
`tf.distribute.Strategy` every replica runs `train_step` on its local part of
the global batch and the optimizer SUMS the replicas' gradients, so a
hand-written loss must be the replica's share of the global objective:

    global objective = (1 / global_batch) * sum over all examples of loss_i
    replica r's loss  = (1 / global_batch) * sum over its examples of loss_i

`scale_loss` does this for both forms a model's loss takes: per-example losses
`[batch]` (`tf.nn.compute_average_loss`), or a scalar that is already the mean
over the replica's batch (e.g. a set-level partition term divided by the set
size), divided by `num_replicas_in_sync`. Without a strategy (one replica)
both are the usual mean. Report unscaled values in metrics: the Keras `Mean`
trackers are already synchronised across replicas.
"""

import tensorflow as tf

__all__ = ["num_replicas", "scale_loss"]


def num_replicas():
    """Returns the number of replicas in sync (1 outside a strategy)."""
    replica_context = tf.distribute.get_replica_context()
    if replica_context is not None:
        return replica_context.num_replicas_in_sync
    return tf.distribute.get_strategy().num_replicas_in_sync


def scale_loss(loss):
    """The replica's share of the global-batch mean of a hand-written loss.

    Args:
        loss: Float `Tensor`: per-example losses `[batch]` of the replica's
            examples, or a scalar, their mean over the replica's batch.

    Returns:
        A scalar: `sum(loss) / (batch * num_replicas)` for per-example losses,
        `loss / num_replicas` for a mean. Summed over the replicas (as the
        optimizer sums their gradients) it is the mean over the global batch.

    #### Examples

    ```python
    per_example = tf.constant([1., 2., 3., 6.])
    scale_loss(per_example)                 # 3.0 (one replica)
    scale_loss(tf.reduce_mean(per_example)) # 3.0 (one replica)
    ```
    """
    loss = tf.convert_to_tensor(loss)
    if loss.shape.rank == 0:
        return loss / tf.cast(num_replicas(), loss.dtype)
    return tf.nn.compute_average_loss(loss)
