"""Per-step seeds and the train step shared by the clustering models."""

import keras
import tensorflow as tf

__all__ = [
    "add_step_counter",
    "from_config_with_autoencoder",
    "next_step_seed",
    "seeded_train_step",
]


def add_step_counter(model):
    """Adds the non-trainable int64 `step_counter` weight that seeds each step."""
    return model.add_weight(
        name="step_counter", shape=(), dtype="int64", initializer="zeros", trainable=False)


def next_step_seed(model):
    """Returns the stateless seed `[model.seed, step]` and advances the step counter."""
    seed = tf.stack([tf.constant(model.seed, tf.int32), tf.cast(model.step_counter, tf.int32)])
    model.step_counter.assign_add(1)
    return seed


def from_config_with_autoencoder(cls, config):
    """`from_config` for models whose config nests a serialized `autoencoder`."""
    config = dict(config)
    config["autoencoder"] = keras.saving.deserialize_keras_object(config["autoencoder"])
    return cls(**config)


def seeded_train_step(model, data):
    """One optimisation step of `model` with a per-step stateless seed.

    `model` provides `seed` (int), a `step_counter` variable, `trackers`
    (name -> `keras.metrics.Mean`) and `compute_losses(images, seed, training)`
    returning a dict of batch-mean losses with the total under `"loss"`. The
    mean over a replica's batch is divided by the number of replicas, so the
    summed gradients are those of the mean over the global batch. Variables
    without a gradient (e.g. heads unused by this objective) are skipped.
    """
    images = data[0] if isinstance(data, (tuple, list)) else data
    seed = next_step_seed(model)
    with tf.GradientTape() as tape:
        losses = model.compute_losses(images, seed, training=True)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        scaled = losses["loss"] / tf.cast(replicas, losses["loss"].dtype)
    variables = model.trainable_variables
    gradients = tape.gradient(scaled, variables)
    model.optimizer.apply_gradients(
        [(g, v) for g, v in zip(gradients, variables) if g is not None])
    for name, value in losses.items():
        model.trackers[name].update_state(value)
    return {name: tracker.result() for name, tracker in model.trackers.items()}
