"""A real `kill -9` at a chosen point of a training run (kill-and-resume tests).

`FaultInjection` is a Keras callback, bound through gin into a run's
`train.extra_callbacks` (`fault_params` returns the bindings, which import
this module), so the production trainer holds no test hook. It acts once: it
first writes `marker` (this process's pid), and does nothing in a later run
that finds the marker, so the very same command resumes the run.

    action='kill'   the process sends itself SIGKILL.
    action='pause'  the process sleeps (up to `pause_seconds`) so that the
                    test kills it from outside, e.g. one worker of a cluster
                    while the others wait in a collective op.
"""

import json
import os
import signal
import time

import gin
import keras

__all__ = ["FaultInjection", "fault_params"]


@gin.configurable("FaultInjection")
class FaultInjection(keras.callbacks.Callback):
    """Kills (or freezes) this process once, after a batch or an epoch.

    Args:
        marker: file written (with this pid) just before the fault; its
            existence disarms the callback.
        epoch: the epoch, counted from 1.
        batch: the batch index within that epoch after which to act, or None
            for the end of the epoch (after its checkpoint is committed: the
            callback runs after the checkpoint callback).
        task_index: act only in the worker of this index in `TF_CONFIG`
            (None: in every process).
        action: `'kill'` or `'pause'`.
        pause_seconds: how long `'pause'` waits before giving up.
    """

    def __init__(self, marker, epoch, batch=None, task_index=None, action="kill",
                 pause_seconds=300.0):
        super().__init__()
        if action not in ("kill", "pause"):
            raise ValueError(f"`action` must be 'kill' or 'pause'. Received: action={action!r}")
        self.marker = marker
        self.epoch = int(epoch)
        self.batch = None if batch is None else int(batch)
        self.task_index = task_index
        self.action = action
        self.pause_seconds = pause_seconds
        self._current_epoch = None

    def _armed(self):
        if os.path.exists(self.marker):
            return False
        if self.task_index is None:
            return True
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
        return task.get("index") == self.task_index

    def _fault(self):
        with open(self.marker + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(self.marker + ".tmp", self.marker)
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.pause_seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.batch == batch and self._current_epoch == self.epoch and self._armed():
            self._fault()

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch + 1 == self.epoch and self._armed():
            self._fault()


def fault_params(marker, epoch, batch=None, task_index=None, action="kill"):
    """The gin bindings that add a `FaultInjection` to every `train` call of a run."""
    return ["import tests.trainers.fault_injection",
            "train.extra_callbacks = [@FaultInjection()]",
            f"FaultInjection.marker = {marker!r}",
            f"FaultInjection.epoch = {int(epoch)}",
            f"FaultInjection.batch = {batch!r}",
            f"FaultInjection.task_index = {task_index!r}",
            f"FaultInjection.action = {action!r}"]
