"""Loss scaling for `tf.distribute`: hand-written losses in model `train_step`s.

Keras scales only the *compiled* loss by `1 / num_replicas_in_sync`. Under a
`tf.distribute.Strategy` every replica runs `train_step` on its local part of
the global batch and the optimizer SUMS the replicas' gradients, so a
hand-written loss must be the replica's share of the global objective:

    global objective = (1 / global_batch) * sum over all examples of loss_i
    replica r's loss  = (1 / global_batch) * sum over its examples of loss_i

`scale_loss_for_distribution(loss_sum, global_batch_size)` does exactly this;
`average_over_replicas(loss)` scales a loss that is already a mean over the
local batch (e.g. a per-set partition term) by `1 / num_replicas_in_sync`.
Without a strategy (one replica) both are the usual mean. Report unscaled
values in metrics: the Keras `Mean` trackers are already synchronised across
replicas.
"""

import tensorflow as tf

__all__ = ["average_over_replicas", "num_replicas", "scale_loss_for_distribution"]


def num_replicas():
    """Returns the number of replicas in sync (1 outside a strategy)."""
    replica_context = tf.distribute.get_replica_context()
    if replica_context is not None:
        return replica_context.num_replicas_in_sync
    return tf.distribute.get_strategy().num_replicas_in_sync


def scale_loss_for_distribution(loss_sum, global_batch_size):
    """Scales a per-replica loss SUM to the replica's share of the global mean.

    Args:
        loss_sum: Tensor, the sum of per-example losses over the replica's local
            batch.
        global_batch_size: int or scalar tensor, the batch size summed over all
            replicas (the batch size the dataset was batched with).

    Returns:
        loss: `loss_sum / global_batch_size`, in `loss_sum`'s dtype.

    Raises:
        ValueError: if `global_batch_size` is a Python number <= 0.
    """
    if isinstance(global_batch_size, (int, float)) and global_batch_size <= 0:
        raise ValueError(
            "`global_batch_size` must be positive. "
            f"Received: global_batch_size={global_batch_size}")
    loss_sum = tf.convert_to_tensor(loss_sum)
    return loss_sum / tf.cast(global_batch_size, loss_sum.dtype)


def average_over_replicas(loss):
    """Scales a replica's local-mean loss by `1 / num_replicas_in_sync`.

    Args:
        loss: Tensor, a loss already averaged over the replica's local batch.

    Returns:
        loss: `loss / num_replicas_in_sync`, so that summing gradients across
        replicas gives the gradient of the mean over replicas.
    """
    loss = tf.convert_to_tensor(loss)
    return loss / tf.cast(num_replicas(), loss.dtype)
