"""Private base class of the multitask models (DRPM-MTL and ULS)."""

import keras
import tensorflow as tf

from tf_drpm.models.loss_model import LossModel

__all__ = []


class _MultitaskModel(LossModel):
    """Shared encoder + one head per task, trained on the mean task loss.

    Subclasses implement `call(images, training)` returning a dict with
    `logits` (a list of `[batch, num_classes_t]` tensors, one per task) and may
    override `_extra_losses(outputs)` (dict of named scalar losses added to the
    objective) and `_extra_metric_values(outputs)` (dict of per-example values
    `[batch]` tracked as means).

    The objective is `(1 / T) sum_t CE_t + sum(extra losses)`, each term a mean
    over the batch (the train step of `tf_drpm.models.LossModel` scales it by
    `1 / num_replicas_in_sync` for the gradient). Data: `(images, labels)` with
    integer labels `[batch, T]`.
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
        names = (["loss", "task_loss"] + [f"{t}_accuracy" for t in task_names]
                 + ["mean_accuracy"] + list(self._extra_metric_names()))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

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
    def compute_losses(self, data, seed=None, training=False):
        """The objective and the metrics of a batch `(images, labels)`.

        Returns a dict: `loss`, `task_loss` and `<task>_loss` (the task's
        cross-entropy; batch means, the last not tracked), per-example
        `<task>_accuracy` and `mean_accuracy` `[batch]`, and the subclass's
        extra losses and metric values.
        """
        del seed  # the partition layer draws from its own seed generator
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
        correct = tf.stack(correct, axis=-1)  # [B, T]
        values = {"loss": loss, "task_loss": task_loss}
        for name, value in zip(self.task_names, task_losses):
            values[f"{name}_loss"] = value
        for t, name in enumerate(self.task_names):
            values[f"{name}_accuracy"] = correct[:, t]
        values["mean_accuracy"] = tf.reduce_mean(correct, axis=-1)
        values.update(extra)
        values.update(self._extra_metric_values(outputs))
        return values

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
