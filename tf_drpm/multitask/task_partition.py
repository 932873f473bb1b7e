"""Keras layer that splits a feature vector among tasks with the DRPM."""

import keras
import tensorflow as tf

from tf_drpm.internal import arg_util
from tf_drpm.layers.random_partition import RandomPartition

__all__ = ["TaskPartition"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class TaskPartition(keras.layers.Layer):
    """Partitions `num_features` feature dimensions among `num_tasks` tasks.

    The DRPM block of DRPM-MTL (Sutter et al., 2023, section 5.3 and appendix
    C.3.2). From a partition encoding `e` (`[batch, encoding_dim]`) two linear
    maps give the DRPM parameters

    ```
    log_weights = e @ W_w + b_w          # [batch, num_tasks]     (log omega)
    log_scores  = e @ W_s + b_s          # [batch, num_features]  (log s)
    ```

    and the layer returns, per example, masks `y_t` over the features and the
    subset sizes `n_t`:

    1. `sizes ~ RelaxedMVHG(total_count=d, group_sizes=[d] * T, log_weights)`
       with hard (straight-through) counts that sum to `d = num_features`;
    2. `masks = subset_masks(sizes) @ neural_sort(log_scores)`: task `t` gets
       the features ranked `n_1 + ... + n_(t-1)` to `n_1 + ... + n_t - 1`,

    i.e. the partition of a `tf_drpm.layers.RandomPartition` sublayer (a
    `tf_drpm.distributions.RelaxedDRPM` with `hard=True` for the counts and
    `hard_permutation` for the ordering stage).

    As in the authors' code the block is deterministic by default
    (`stochastic=False`: no Gumbel noise in either stage, the
    `RelaxedDRPM.noiseless_partition`) and the permutation
    is soft (`hard_permutation=False`), so masks are soft. Before they are
    clipped to [0, 1] (as in the reference code: NeuralSort is only
    row-stochastic, so an entry can exceed 1) row `t` sums to exactly `n_t`;
    each feature's column sums to one only in the limit `temperature -> 0`.
    With `hard_permutation=True` the forward masks are an exact partition
    (every feature in exactly one task) with straight-through gradients. Gradients reach `log_weights` through the
    straight-through sizes and `log_scores` through the relaxed sort, hence
    the layer's kernels and the encoder that produced `e`.

    The temperature of both relaxations is the non-trainable variable
    `temperature` of the sublayer (anneal it with
    `tf_drpm.callbacks.ExponentialTemperatureSchedule`). If
    `evaluation_temperature` is set, it is used instead when `training` is
    false (the reference code validates at the final temperature).

    With `fixed_sizes` (one int per task, summing to `num_features`) the
    subset sizes are frozen at those values for every example: no MVHG and
    no `log_weights` map (it returns zeros), and only the ordering stage (which features
    go to which task) is learnt. It is the ablation that tells whether the
    DRPM's learnt sizes are a good allocation.

    Args:
        num_tasks: Python int >= 1, the number of subsets `T`.
        num_features: Optional Python int, the number of feature dimensions
            `d` to partition. Defaults to the last dimension of the encoding.
        temperature: Positive float, the initial temperature.
        evaluation_temperature: Optional positive float used when
            `training=False`.
        hard_permutation: Python bool, straight-through hard permutation.
        stochastic: Python bool, add Gumbel noise in training (samples
            instead of the deterministic relaxed mode). At inference
            (`training=False`: `predict`, `evaluate`) the partition is the
            noiseless one unless `sample_at_inference=True`, as for
            `RandomPartition`.
        sample_at_inference: Python bool; with `stochastic`, sample at
            inference too. Default `False`.
        seed: Optional int, seed of the layer's `keras.random.SeedGenerator`
            (draws the Gumbel noise when `stochastic=True`; under a
            `tf.distribute` strategy the noise of an example depends on the
            seed, the step and its index in the global batch, as on one
            device).
        fixed_sizes: Optional tuple of `num_tasks` non-negative ints summing
            to `num_features`: frozen subset sizes. Default `None` (learnt).
        size_map: `"linear"` (default, the paper's `log_weights = e W_w +
            b_w`) or `"constant"` (`log_weights = b_w`, the same for every
            example).
        kernel_initializer: Initializer of both kernels.
        bias_initializer: Initializer of both biases.
        **kwargs: Base `Layer` arguments.

    Call arguments:
        partition_encoding: Float tensor `[batch, encoding_dim]`.
        training: Python bool or None.
        sizes: Optional `[num_tasks]` (or `[batch, num_tasks]`) subset sizes
            summing to `num_features` that replace the learnt ones for this
            call (e.g. equal sizes during a warm-up).

    Returns:
        A dict with `masks` `[batch, num_tasks, num_features]`, `sizes`
        `[batch, num_tasks]` (integer-valued floats summing to `num_features`),
        `log_weights` `[batch, num_tasks]` and `log_scores`
        `[batch, num_features]`.

    Example:

    >>> layer = TaskPartition(num_tasks=2, temperature=0.5)
    >>> out = layer(keras.random.normal((8, 50)))
    >>> out["masks"].shape, out["sizes"].shape
    (TensorShape([8, 2, 50]), TensorShape([8, 2]))
    """

    def __init__(
        self,
        num_tasks,
        num_features=None,
        temperature=1.0,
        evaluation_temperature=None,
        hard_permutation=False,
        stochastic=False,
        seed=None,
        fixed_sizes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        sample_at_inference=False,
        size_map="linear",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if fixed_sizes is not None:
            if (
                not isinstance(fixed_sizes, (tuple, list))
                or len(fixed_sizes) != num_tasks
                or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n >= 0
                    for n in fixed_sizes
                )
                or (num_features is not None and sum(fixed_sizes) != num_features)
            ):
                raise ValueError(
                    "`fixed_sizes` must be None or num_tasks non-negative ints "
                    "summing to num_features. Received: "
                    f"fixed_sizes={fixed_sizes!r} (num_tasks={num_tasks}, "
                    f"num_features={num_features})"
                )
            fixed_sizes = tuple(fixed_sizes)
        if not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError(
                f"`num_tasks` must be a positive int. Received: num_tasks={num_tasks}"
            )
        if num_features is not None and (
            not isinstance(num_features, int) or num_features < 1
        ):
            raise ValueError(
                "`num_features` must be a positive int or None. "
                f"Received: num_features={num_features}"
            )
        if not temperature > 0:
            raise ValueError(
                f"`temperature` must be positive. Received: temperature={temperature}"
            )
        if evaluation_temperature is not None and not evaluation_temperature > 0:
            raise ValueError(
                "`evaluation_temperature` must be positive or None. "
                f"Received: evaluation_temperature={evaluation_temperature}"
            )
        self.num_tasks = num_tasks
        self.num_features = num_features
        self.initial_temperature = float(temperature)
        self.evaluation_temperature = (
            None if evaluation_temperature is None else float(evaluation_temperature)
        )
        self.hard_permutation = bool(hard_permutation)
        self.stochastic = bool(stochastic)
        self.sample_at_inference = arg_util.check_bool(
            sample_at_inference, "sample_at_inference")
        self.seed = seed
        self.fixed_sizes = fixed_sizes
        if size_map not in ("linear", "constant"):
            raise ValueError(
                "`size_map` must be 'linear' or 'constant'. "
                f"Received: size_map={size_map!r}")
        self.size_map = size_map
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.random_partition = RandomPartition(
            temperature=self.initial_temperature,
            hard=True,
            stochastic=self.stochastic,
            sample_at_inference=self.sample_at_inference,
            hard_permutation=self.hard_permutation,
            return_details=True,
            seed=seed,
            # One partition per example: under tf.distribute its Gumbel noise
            # is indexed by the global example (the noiseless partition needs
            # no gather).
            global_batch_noise=self.stochastic,
            name="random_partition",
            dtype=self.dtype_policy,
        )

    @property
    def temperature(self):
        """The non-trainable temperature variable (of the `RandomPartition`)."""
        return self.random_partition.temperature

    def build(self, input_shape):
        encoding_dim = input_shape[-1]
        if encoding_dim is None:
            raise ValueError(
                "The last dimension of `partition_encoding` must be known. "
                f"Received: input_shape={input_shape}"
            )
        if self.num_features is None:
            self.num_features = int(encoding_dim)
        if self.fixed_sizes is not None and sum(self.fixed_sizes) != self.num_features:
            raise ValueError(
                "`fixed_sizes` must sum to num_features. Received: "
                f"fixed_sizes={self.fixed_sizes} with num_features={self.num_features}"
            )
        batch = tuple(input_shape)[:-1]
        self.random_partition.build(
            [batch + (self.num_tasks,), batch + (self.num_features,)]
        )
        if self.fixed_sizes is None:
            if self.size_map == "linear":
                self.weights_kernel = self.add_weight(
                    name="weights_kernel",
                    shape=(encoding_dim, self.num_tasks),
                    initializer=self.kernel_initializer,
                )
            self.weights_bias = self.add_weight(
                name="weights_bias",
                shape=(self.num_tasks,),
                initializer=self.bias_initializer,
            )
        self.scores_kernel = self.add_weight(
            name="scores_kernel",
            shape=(encoding_dim, self.num_features),
            initializer=self.kernel_initializer,
        )
        self.scores_bias = self.add_weight(
            name="scores_bias",
            shape=(self.num_features,),
            initializer=self.bias_initializer,
        )

    def call(self, partition_encoding, training=None, sizes=None):
        encoding = tf.convert_to_tensor(partition_encoding, dtype=self.compute_dtype)
        log_scores = tf.matmul(encoding, self.scores_kernel) + self.scores_bias
        temperature = None
        if not training and self.evaluation_temperature is not None:
            temperature = tf.constant(self.evaluation_temperature, log_scores.dtype)
        if sizes is None and self.fixed_sizes is not None:
            sizes = self.fixed_sizes
        if self.fixed_sizes is None and self.size_map == "linear":
            log_weights = tf.matmul(encoding, self.weights_kernel) + self.weights_bias
        elif self.fixed_sizes is None:  # the same log-weights for every example
            log_weights = tf.broadcast_to(
                tf.cast(self.weights_bias, log_scores.dtype),
                tf.concat([tf.shape(log_scores)[:-1], [self.num_tasks]], 0))
        else:  # no size map: only the order is learnt
            log_weights = tf.zeros(
                tf.concat([tf.shape(log_scores)[:-1], [self.num_tasks]], 0),
                log_scores.dtype,
            )
        details = self.random_partition(
            [log_weights, log_scores], counts=sizes, temperature=temperature,
            training=training,
        )
        # NeuralSort is row- but not column-stochastic, so soft entries can
        # exceed 1; clip to [0, 1] as the reference implementation does.
        masks = tf.clip_by_value(details["partition"], 0.0, 1.0)  # [batch, T, d]
        return {
            "masks": masks,
            "sizes": details["counts"],  # [batch, T]
            "log_weights": log_weights,
            "log_scores": log_scores,
        }

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        d = self.num_features if self.num_features is not None else input_shape[-1]
        return {
            "masks": (batch, self.num_tasks, d),
            "sizes": (batch, self.num_tasks),
            "log_weights": (batch, self.num_tasks),
            "log_scores": (batch, d),
        }

    def get_config(self):
        base = super().get_config()
        config = {
            "num_tasks": self.num_tasks,
            "num_features": self.num_features,
            "temperature": self.initial_temperature,
            "evaluation_temperature": self.evaluation_temperature,
            "hard_permutation": self.hard_permutation,
            "stochastic": self.stochastic,
            "sample_at_inference": self.sample_at_inference,
            "seed": self.seed,
            "fixed_sizes": self.fixed_sizes,
            "size_map": self.size_map,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
        return {**base, **config}

