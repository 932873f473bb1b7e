"""Private base class of the multitask models (DRPM-MTL and ULS)."""

import keras
import tensorflow as tf

from tf_drpm.internal.distribution_util import average_over_replicas

__all__ = []


class _MultitaskModel(keras.Model):
    """Shared encoder + one head per task, trained on the mean task loss.

    Subclasses implement `call(images, training)` returning a dict with
    `logits` (a list of `[batch, num_classes_t]` tensors, one per task) and may
    override `_extra_losses(outputs)` (dict of named scalar losses added to the
    objective) and `_extra_metric_values(outputs)` (dict of per-example values
    `[batch]` tracked as means).

    The objective is `(1 / T) sum_t CE_t + sum(extra losses)`, each term a mean
    over the batch (scaled by `1 / num_replicas_in_sync` for the gradient).
    Data: `(images, labels)` with integer labels `[batch, T]`.
    """

    def __init__(self, encoder, heads, task_names=None, **kwargs):
        super().__init__(**kwargs)
        heads = list(heads)
        if not heads:
            raise ValueError(f"`heads` must hold at least one head. Received: heads={heads}")
        if task_names is None:
            task_names = [f"task{t}" for t in range(len(heads))]
        task_names = [str(t) for t in task_names]
        if len(task_names) != len(heads) or len(set(task_names)) != len(task_names):
            raise ValueError(
                "`task_names` must be unique, one per head. Received: "
                f"task_names={task_names} for {len(heads)} heads"
            )
        self.encoder = encoder
        self.heads = heads
        self.task_names = task_names
        self.num_tasks = len(heads)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.task_loss_tracker = keras.metrics.Mean(name="task_loss")
        self.accuracy_trackers = [
            keras.metrics.Mean(name=f"{t}_accuracy") for t in task_names
        ]
        self.mean_accuracy_tracker = keras.metrics.Mean(name="mean_accuracy")
        self.extra_trackers = {
            key: keras.metrics.Mean(name=key) for key in self._extra_metric_names()
        }

    # Hooks -----------------------------------------------------------------
    def _extra_metric_names(self):
        return []

    def _extra_losses(self, outputs):
        del outputs
        return {}

    def _extra_metric_values(self, outputs):
        del outputs
        return {}

    # Training --------------------------------------------------------------
    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.task_loss_tracker,
            *self.accuracy_trackers,
            self.mean_accuracy_tracker,
            *self.extra_trackers.values(),
        ]

    def _losses_and_metrics(self, data, training):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        labels = tf.cast(labels, tf.int32)  # [B, T]
        outputs = self(images, training=training)
        task_losses, correct = [], []
        for t, logits in enumerate(outputs["logits"]):
            logits = tf.cast(logits, tf.float32)
            label = labels[:, t]
            task_losses.append(
                tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(label, logits)
                )
            )
            correct.append(
                tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), label),
                        tf.float32)
            )
        task_loss = tf.add_n(task_losses) / float(self.num_tasks)
        extra = self._extra_losses(outputs)
        loss = task_loss
        for value in extra.values():
            loss = loss + tf.cast(value, tf.float32)
        return outputs, loss, task_loss, extra, tf.stack(correct, axis=-1)

    def _update_metrics(self, outputs, loss, task_loss, extra, correct):
        self.loss_tracker.update_state(loss)
        self.task_loss_tracker.update_state(task_loss)
        for t, tracker in enumerate(self.accuracy_trackers):
            tracker.update_state(correct[:, t])
        self.mean_accuracy_tracker.update_state(tf.reduce_mean(correct, axis=-1))
        values = dict(extra)
        values.update(self._extra_metric_values(outputs))
        for key, tracker in self.extra_trackers.items():
            tracker.update_state(values[key])
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            outputs, loss, task_loss, extra, correct = self._losses_and_metrics(
                data, training=True
            )
            scaled_loss = average_over_replicas(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply(gradients, variables)
        return self._update_metrics(outputs, loss, task_loss, extra, correct)

    def test_step(self, data):
        outputs, loss, task_loss, extra, correct = self._losses_and_metrics(
            data, training=False
        )
        return self._update_metrics(outputs, loss, task_loss, extra, correct)

    # Serialisation ---------------------------------------------------------
    def get_config(self):
        base = super().get_config()
        return {
            **base,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "heads": [keras.saving.serialize_keras_object(h) for h in self.heads],
            "task_names": list(self.task_names),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "partition_encoder"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        config["heads"] = [keras.saving.deserialize_keras_object(h) for h in config["heads"]]
        return cls(**config)
