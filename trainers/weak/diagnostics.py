"""The shared-dimension diagnostics of a weak run, logged through training."""

import json
import os

import keras

from tf_drpm.weak_supervision import shared_dimension_diagnostics
from tf_drpm.weak_supervision import summarize_shared_dimension_diagnostics
from trainers.core import run_directory

__all__ = ["DIAGNOSTICS_FILE", "SharedDimensionDiagnostics"]

DIAGNOSTICS_FILE = "diagnostics.jsonl"


class SharedDimensionDiagnostics(keras.callbacks.Callback):
    """Logs why a weak VAE estimates the n_s it does, every `every_steps` steps.

    On a fixed set of pairs (sharing `weak_data.num_shared_factors` factors)
    it computes `shared_dimension_diagnostics` (the size head's logit gap,
    the histogram of the estimated n_s, the number of dims whose pairwise KL
    is below `threshold`, the active dims) and appends one JSON line per
    measurement to `<model_dir>/diagnostics.jsonl`; at each epoch end the
    scalars also go into the epoch logs (`diag_*`). Nothing random is drawn,
    so training is unchanged. A resumed run drops the lines past its restored
    step before appending.
    """

    def __init__(self, pairs, model_dir, every_steps=25, threshold=0.05):
        super().__init__()
        self.pairs = pairs
        self.path = os.path.join(model_dir, DIAGNOSTICS_FILE) if model_dir else None
        self.every_steps = max(1, int(every_steps))
        self.threshold = threshold
        self._last = None

    def _step(self):
        return int(self.model.optimizer.iterations.numpy())

    def _measure(self):
        diagnostics = shared_dimension_diagnostics(
            self.model, self.pairs["x1"], self.pairs["x2"], self.threshold)
        record = {"step": self._step(),
                  "temperature": _temperature(self.model),
                  **summarize_shared_dimension_diagnostics(diagnostics)}
        self._last = record
        if self.path:
            with open(run_directory.output_path(self.path), "a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        return record

    def on_train_begin(self, logs=None):
        step = self._step()
        path = self.path and run_directory.output_path(self.path)
        if path and os.path.exists(path):
            with open(path) as f:
                kept = [line for line in f if json.loads(line)["step"] <= step]
            with open(path, "w") as f:
                f.writelines(kept)
        if step == 0:
            self._measure()

    def on_train_batch_end(self, batch, logs=None):
        if self._step() % self.every_steps == 0:
            self._measure()

    def on_epoch_end(self, epoch, logs=None):
        record = self._last if (self._last and self._last["step"] == self._step()
                                ) else self._measure()
        if logs is not None:
            for key in ("size_logit_gap_mean", "num_shared_mean", "num_low_kl_mean",
                        "num_low_kl_active_mean", "num_active_dims"):
                if key in record:
                    logs["diag_" + key] = record[key]


def _temperature(model):
    temperature = getattr(model.aggregation, "temperature", None)
    return None if temperature is None else float(temperature.numpy())
