"""Global-batch helpers for `tf.distribute`: the set is the global batch.

Under a `tf.distribute.Strategy` each replica holds a contiguous part of the
global batch: replica `r` (its `replica_id_in_sync_group`) holds the global
rows `[begin_r, begin_r + size_r)`, with `begin_r` the sum of the sizes of
the replicas before it (`ReplicaContext.all_gather` concatenates in that
order). These helpers let a model that treats the batch as one set (DRPM-VC,
`tf_drpm.layers.RandomPartition(partition_global_batch=True)`) see the global
set and draw per-example noise that depends on the global example index only,
so a step is the same computation on 1, 2 or 8 replicas. Outside a strategy,
in cross-replica context, or with one replica, every helper is the identity of
the single-device computation (no collective op is added).
"""

import tensorflow as tf

__all__ = [
    "GlobalBatch",
    "global_batch",
    "replica_context",
]


def replica_context():
    """The current `tf.distribute.ReplicaContext` if it has several replicas.

    Returns:
        The replica context when called inside `strategy.run` (e.g. a Keras
        `train_step`) of a strategy with `num_replicas_in_sync > 1`, else
        `None` (no strategy, one replica, or cross-replica context).
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


class GlobalBatch:
    """Where this replica's rows lie in the global batch.

    Build it with `global_batch(local_size)`. With one replica (`context` is
    `None`) `begin` is 0, `size` the local size and every method returns its
    input.

    Attributes:
        context: The replica context, or `None` for a single replica.
        begin: Int32 scalar, the global index of this replica's first row.
        local_size: Int32 scalar, the number of rows of this replica.
        size: Int32 scalar, the global batch size (sum over the replicas).
        static_size: Python int or `None`, the global batch size when it is
            known statically (a static local size times the number of
            replicas; every replica then holds that many rows).
        num_replicas: Python int, `num_replicas_in_sync` (1 without a context).
    """

    def __init__(self, context, begin, local_size, size, static_size=None):
        self.context = context
        self.begin = begin
        self.local_size = local_size
        self.size = size
        self.static_size = static_size
        self.num_replicas = 1 if context is None else context.num_replicas_in_sync

    def gather(self, value, axis=0):
        """All-gathers `value` along `axis` (the set axis) across the replicas.

        Gradients flow back to each replica's own part (the gradient of
        `ReplicaContext.all_gather` sums the replicas' upstream gradients and
        slices this replica's rows). Boolean values are gathered as int32.

        Args:
            value: A tensor whose `axis` dimension holds this replica's rows;
                the other dimensions must agree across replicas.
            axis: Python int, the set axis (negative values count from the end).

        Returns:
            The global tensor (the replicas' parts concatenated in replica
            order) or `value` itself for a single replica.
        """
        if self.context is None:
            return value
        # An op of this replica: a bare function input has no device, which
        # the multi-worker collectives cannot place.
        value = tf.identity(value)
        axis = _positive_axis(axis, value.shape.rank, "axis")
        if value.dtype == tf.bool:
            gathered = tf.cast(
                self.context.all_gather(tf.cast(value, tf.int32), axis=axis), tf.bool)
        else:
            gathered = self.context.all_gather(value, axis=axis)
        known = tf.compat.dimension_value(gathered.shape[axis])
        if self.static_size is not None and known not in (None, self.static_size):
            raise ValueError(_unequal_sizes_message(
                self.static_size // self.num_replicas, self.num_replicas)
                + f" Received: {known} elements in all")
        # The collective may lose the static shape: the other dimensions are
        # the value's, the set axis is static when the local sizes are.
        shape = value.shape.as_list()
        shape[axis] = self.static_size
        return tf.ensure_shape(gathered, shape)

    def take_local(self, value, axis=0):
        """This replica's rows of a global tensor, along `axis`.

        Args:
            value: A tensor whose `axis` dimension is the global batch.
            axis: Python int, the set axis (negative values count from the end).

        Returns:
            `value[..., begin:begin + local_size, ...]` (along `axis`), or
            `value` itself for a single replica.
        """
        if self.context is None:
            return value
        value = tf.convert_to_tensor(value)
        axis = _positive_axis(axis, value.shape.rank, "axis")
        indices = tf.range(self.begin, self.begin + self.local_size)
        return tf.gather(value, indices, axis=axis)

    def normal(self, local_shape, seed, dtype=tf.float32):
        """Standard normal noise for this replica's rows, indexed globally.

        The noise of the global batch `[size, ...]` is drawn with the stateless
        `seed` (the same on every replica) and this replica keeps its rows, so
        the noise of an example depends on `(seed, global index)` only: one
        replica draws exactly `tf.random.stateless_normal([size, ...], seed)`.

        Args:
            local_shape: Shape `[local_size, ...]` of this replica's noise.
            seed: Stateless seed, a shape-[2] integer tensor.
            dtype: Float dtype of the noise.

        Returns:
            A tensor of shape `local_shape`.
        """
        local_shape = tf.convert_to_tensor(local_shape, tf.int32)
        if self.context is None:
            return tf.random.stateless_normal(local_shape, seed=seed, dtype=dtype)
        global_shape = tf.concat([[self.size], local_shape[1:]], axis=0)
        noise = tf.random.stateless_normal(global_shape, seed=seed, dtype=dtype)
        return self.take_local(noise, axis=0)

    def uniform(self, local_shape, seed, minval=0.0, maxval=1.0, dtype=tf.float32):
        """Uniform noise in `[minval, maxval)` for this replica's rows, indexed
        globally (as `normal`: one replica draws exactly
        `tf.random.stateless_uniform([size, ...], seed, minval, maxval)`)."""
        local_shape = tf.convert_to_tensor(local_shape, tf.int32)
        minval, maxval = tf.cast(minval, dtype), tf.cast(maxval, dtype)
        if self.context is None:
            return tf.random.stateless_uniform(
                local_shape, seed=seed, minval=minval, maxval=maxval, dtype=dtype)
        global_shape = tf.concat([[self.size], local_shape[1:]], axis=0)
        noise = tf.random.stateless_uniform(
            global_shape, seed=seed, minval=minval, maxval=maxval, dtype=dtype)
        return self.take_local(noise, axis=0)

    def replica_share(self, value):
        """`value / num_replicas`: a replica's share of a set-level term.

        A term of the whole set (e.g. the KL of its partition) is computed
        identically on every replica; each replica adds this share to its
        loss so the sum over replicas (what the optimizer's gradient sum and
        the gather's gradient see) counts it once.
        """
        if self.context is None:
            return value
        return value / tf.cast(self.num_replicas, value.dtype)


def global_batch(local_size, static_local_size=None):
    """Locates this replica's `local_size` rows in the global batch.

    Args:
        local_size: Int scalar (Python int or tensor), this replica's batch
            size, e.g. `tf.shape(x)[0]`. Replicas may hold different sizes
            (e.g. a last partial batch) unless `static_local_size` is given.
        static_local_size: Optional Python int, this replica's batch size when
            known statically (e.g. `x.shape[0]` of a dataset batched with
            `drop_remainder=True`). Every replica must then hold that many
            rows (checked at run time), and the global size
            `static_local_size * num_replicas` is static too, as the DRPM's
            number of elements must be.

    Returns:
        A `GlobalBatch`. With several replicas it all-gathers the local sizes
        (one int32 per replica).
    """
    local_size = tf.cast(tf.convert_to_tensor(local_size), tf.int32)
    context = replica_context()
    if context is None:
        return GlobalBatch(None, tf.constant(0, tf.int32), local_size, local_size,
                           static_local_size)
    sizes = context.all_gather(tf.reshape(local_size, [1]), axis=0)  # [num_replicas]
    static_size = None
    if static_local_size is not None:
        static_size = static_local_size * context.num_replicas_in_sync
        with tf.control_dependencies([tf.debugging.assert_equal(
                sizes, tf.fill(tf.shape(sizes), tf.constant(static_local_size, tf.int32)),
                message=_unequal_sizes_message(
                    static_local_size, context.num_replicas_in_sync))]):
            sizes = tf.identity(sizes)
    begin = tf.reduce_sum(sizes[:context.replica_id_in_sync_group])
    return GlobalBatch(context, begin, local_size, tf.reduce_sum(sizes), static_size)


def _unequal_sizes_message(static_local_size, num_replicas):
    return (
        f"Every replica must hold the same number of set elements ({static_local_size}, "
        "the static batch size of a replica): use a global batch that divides by the "
        f"number of replicas ({num_replicas}), batched with `drop_remainder=True`.")


def _positive_axis(axis, rank, arg_name):
    if rank is None:
        raise ValueError(f"The rank of the gathered value must be known. Received: {arg_name}={axis}")
    if not -rank <= axis < rank:
        raise ValueError(
            f"`{arg_name}` must be in [-{rank}, {rank}) for a value of rank {rank}. "
            f"Received: {arg_name}={axis}")
    return axis % rank
