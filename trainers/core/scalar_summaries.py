"""TensorBoard scalar logs without the `tensorboard` package.

`keras.callbacks.TensorBoard` needs the `tensorboard` pip package at write
time (`tf.summary.scalar` lives there). This callback writes the same
event files with core TensorFlow (`tf.summary.write` plus the scalar plugin's
metadata), so runs log on a machine without it; `tensorboard --logdir
<model_dir>/tensorboard` reads them.
"""

import os

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

__all__ = ["ScalarSummaries"]

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR).SerializeToString()


class ScalarSummaries(keras.callbacks.Callback):
    """Writes every epoch's logs as TensorBoard scalars.

    Logs named `val_*` go to `log_dir/validation`, the others to
    `log_dir/train`; the step is the epoch number (1-based), and the
    optimizer's learning rate is logged as `learning_rate` when it is a
    plain variable or schedule.

    Args:
        log_dir: directory of the event files.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writers = {}

    def _writer(self, name):
        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, name))
        return self._writers[name]

    def _write(self, writer_name, tag, value, step):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return
        with self._writer(writer_name).as_default():
            tf.summary.write(tag, tf.constant(value, tf.float32), step=step,
                             metadata=_SCALAR_METADATA)

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                self._write("validation", key[len("val_"):], value, step)
            else:
                self._write("train", key, value, step)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            try:
                self._write("train", "learning_rate",
                            optimizer.learning_rate.numpy(), step)
            except (AttributeError, TypeError, ValueError):
                pass
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
