"""The base of tf_drpm's models: one train step over hand-written loss terms."""

import keras
import tensorflow as tf

from tf_drpm.models.loss_scaling import scale_loss

__all__ = ["LossModel"]


class LossModel(keras.Model):
    """A `keras.Model` trained on the loss terms it computes itself.

    Every model of tf_drpm (DRPM-VC, VaDE, the contrastive pretraining and the
    auto-encoder, the weak VAE, DRPM-MTL and ULS) subclasses it and writes only
    `compute_losses`; the train and test steps are these:

    ```
    seed   = [self.seed, step]                  (models with a step counter)
    losses = compute_losses(data, seed, training=True)
    loss   = scale_loss(losses["loss"])         (the replica's share of the mean)
    apply the gradients of `loss` (variables without one are skipped)
    update one keras.metrics.Mean per name in `trackers` with losses[name]
    ```

    Subclasses implement `compute_losses(data, seed=None, training=False)`
    returning a dict of tensors: `"loss"`, the objective, and the other terms
    and metrics, each a scalar (a mean over the replica's batch) or a
    per-example vector `[batch]`; and set `self.trackers` to a dict
    `{name: keras.metrics.Mean(name=name)}` of the values `fit` and
    `evaluate` report (they are this model's `metrics`, reset by `fit`).

    Randomness: a model that calls `add_step_counter()` (and has an int
    `seed`) gets the stateless per-step seed `[seed, step]` in training and
    `[seed, -1]` in evaluation, with the step counter saved with the weights;
    other models get `seed=None` and draw from their layers'
    `keras.random.SeedGenerator`s.

    Example:

    >>> class Regression(LossModel):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.dense = keras.layers.Dense(1)
    ...         self.trackers = {"loss": keras.metrics.Mean(name="loss")}
    ...     def compute_losses(self, data, seed=None, training=False):
    ...         x, y = data
    ...         return {"loss": tf.square(self.dense(x)[:, 0] - y)}  # [batch]
    >>> model = Regression()
    >>> model.compile(optimizer="sgd")
    >>> # model.fit(dataset_of_(x, y), epochs=...)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.step_counter = None

    def compute_losses(self, data, seed=None, training=False):
        """The loss terms of a batch: a dict with `"loss"` (see the class)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `compute_losses(data, seed, training)`.")

    @property
    def metrics(self):
        return list(getattr(self, "trackers", {}).values())

    def add_step_counter(self):
        """Adds the non-trainable int64 `step_counter` weight that seeds each step."""
        self.step_counter = self.add_weight(
            name="step_counter", shape=(), dtype="int64", initializer="zeros",
            trainable=False)
        return self.step_counter

    def _next_step_seed(self):
        """`[seed, step]` (int32) and the step counter advanced, or None."""
        if self.step_counter is None:
            return None
        seed = tf.stack([tf.constant(self.seed, tf.int32),
                         tf.cast(self.step_counter, tf.int32)])
        self.step_counter.assign_add(1)
        return seed

    def _evaluation_seed(self):
        if self.step_counter is None:
            return None
        return tf.constant([self.seed, -1], tf.int32)

    def train_step(self, data):
        seed = self._next_step_seed()
        with tf.GradientTape(persistent=self._persistent_train_tape) as tape:
            losses = self.compute_losses(data, seed=seed, training=True)
            loss = scale_loss(losses["loss"])
        variables = self.trainable_variables
        gradients = tape.gradient(loss, variables)
        probe = self._before_apply(tape, losses)
        del tape
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(gradients, variables) if g is not None])
        return self._update_trackers(self._after_apply(losses, probe))

    # A subclass that logs what a train step does (gradients of single loss
    # terms, the optimizer's change of a weight) overrides these two hooks;
    # with `_persistent_train_tape = True` its `_before_apply` may take more
    # gradients from the step's tape.
    _persistent_train_tape = False

    def _before_apply(self, tape, losses):
        """Called with the step's tape and losses before the optimizer step; returns a probe."""
        return None

    def _after_apply(self, losses, probe):
        """Called after the optimizer step; returns the values the trackers read."""
        return losses

    def test_step(self, data):
        losses = self.compute_losses(data, seed=self._evaluation_seed(), training=False)
        return self._update_trackers(losses)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3 (TF backend) starts `fit` by reducing the first distributed
        # batch with `strategy.reduce("MEAN", batch, axis=None)` to build the
        # model symbolically; under several workers a nested batch such as
        # `(x, y)` fails there. A built model with a built optimizer and no
        # compiled loss or metrics (how tf_drpm's trainers fit) needs no build.
        if _multi_worker(self.distribute_strategy) and self._needs_no_symbolic_build():
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _needs_no_symbolic_build(self):
        compiled = [getattr(self, "_compile_metrics", None), getattr(self, "_compile_loss", None)]
        return (all(layer.built for layer in self._flatten_layers())
                and (self.optimizer is None or self.optimizer.built)
                and all(c is None or c.built for c in compiled))

    # Trackers that only train steps compute (e.g. values of `_after_apply`):
    # evaluation neither updates nor reports them.
    _train_only_trackers = frozenset()

    def _update_trackers(self, values):
        trackers = {name: tracker for name, tracker in self.trackers.items()
                    if name in values or name not in self._train_only_trackers}
        for name, tracker in trackers.items():
            tracker.update_state(values[name])
        logs = {name: tracker.result() for name, tracker in trackers.items()}
        if _multi_worker(self.distribute_strategy):
            # Keras 3 reduces a multi-worker step's logs with
            # `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars
            # (tensorflow/tensorflow#72388): give it one value per replica.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


def _multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` of several workers."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    in_multi_worker_mode = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return bool(in_multi_worker_mode is None or in_multi_worker_mode())
