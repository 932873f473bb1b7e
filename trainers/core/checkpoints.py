"""Resumable checkpoints of a run directory: the epoch commit point and restore.

    checkpoints/epoch-NNNN.weights.h5   model + optimizer state after each epoch
    checkpoints/state.json              the commit point: finished epochs,
                                        optimizer step, seed-generator states,
                                        the per-epoch history
    epochs.jsonl                        one JSON line per finished epoch

A checkpoint is written to a temporary file and renamed, and `state.json` is
replaced atomically after it, so a kill at any instant loses at most the
unfinished epoch. Every worker of a cluster saves (a save may run collective
ops); a non-chief worker writes under its temporary directory
(`run_directory.output_path`), and all of them restore from the run directory.
"""

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from trainers.core import run_directory
from trainers.core.run_files import to_python
from trainers.core.run_files import write_json
from trainers.core.run_files import write_text

__all__ = [
    "CHECKPOINT_SUBDIR",
    "EPOCH_LOG_FILE",
    "EpochCheckpoint",
    "STATE_FILE",
    "read_checkpoint_state",
    "restore",
]

CHECKPOINT_SUBDIR = "checkpoints"
STATE_FILE = "state.json"
EPOCH_LOG_FILE = "epochs.jsonl"


def read_checkpoint_state(model_dir):
    """Returns the committed checkpoint state of a run directory, or None.

    The state is a dict with `epoch` (finished epochs), `step` (optimizer
    iterations), `weights` (file name in `checkpoints/`) and `history` (one
    record per finished epoch: `epoch`, `step`, `logs`, `time`).
    """
    path = os.path.join(model_dir, CHECKPOINT_SUBDIR, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
        for key in ("epoch", "step", "weights", "history"):
            state[key]  # pylint: disable=pointless-statement
    except (ValueError, KeyError, TypeError) as e:
        raise run_directory.RunDirectoryError(
            f"The checkpoint state {path} is corrupt ({type(e).__name__}: {e}). "
            + _restart_advice(model_dir)) from e
    return state


def _restart_advice(model_dir):
    state_path = os.path.join(model_dir, CHECKPOINT_SUBDIR, STATE_FILE)
    return (f"To restart the run from epoch 0, delete {state_path} (the run then starts "
            f"over in {model_dir!r}, overwriting its checkpoints and epochs.jsonl), or use "
            "a new --model_dir.")


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes a resumable checkpoint and an epoch log at every epoch end.

    Order of writes (each atomic): weights file, then `state.json` (the commit
    point), then one line appended to `epochs.jsonl`. Keeps the newest
    `max_to_keep` weight files. On a non-chief worker of a cluster the files
    go under its temporary directory (`run_directory.output_path`).

    Args:
        model_dir: the run directory.
        history: records of the epochs already finished (from a restore).
        max_to_keep: number of weight files to keep.
    """

    def __init__(self, model_dir, history=(), max_to_keep=2):
        super().__init__()
        self.model_dir = model_dir
        self.checkpoint_dir = os.path.join(model_dir, CHECKPOINT_SUBDIR)
        self.history = list(history)
        self.max_to_keep = max(1, int(max_to_keep))
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy()) if self.model.optimizer else None
        record = {
            "epoch": epoch + 1,
            "step": step,
            "logs": to_python(dict(logs or {})),
            "time": time.time() - (self._epoch_start or time.time()),
        }
        self.history.append(record)
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        checkpoint_dir = run_directory.output_path(self.checkpoint_dir)
        os.makedirs(checkpoint_dir, exist_ok=True)
        tmp = os.path.join(checkpoint_dir, f"tmp-{name}")
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, os.path.join(checkpoint_dir, name))
        write_json(os.path.join(self.checkpoint_dir, STATE_FILE), {
            "epoch": epoch + 1, "step": step, "weights": name,
            "seed_generator_states": [
                g.state.numpy().tolist() for g in _seed_generators(self.model)],
            "history": self.history})
        log_path = run_directory.output_path(os.path.join(self.model_dir, EPOCH_LOG_FILE))
        with open(log_path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        kept = sorted(n for n in os.listdir(checkpoint_dir)
                      if n.startswith("epoch-") and n.endswith(".weights.h5"))
        for old in kept[:-self.max_to_keep]:
            os.remove(os.path.join(checkpoint_dir, old))


def _seed_generators(model):
    """The model's `keras.random.SeedGenerator`s, in a fixed (layer-walk) order.

    Keras weight files do not hold seed-generator states, so they are saved in
    `state.json` to let a resumed run continue the same random streams.
    """
    generators = []
    for layer in model._flatten_layers(include_self=True):  # pylint: disable=protected-access
        generators.extend(getattr(layer, "_seed_generators", []))
    return generators


def restore(model, model_dir):
    """Restores the newest committed checkpoint; returns (initial_epoch, history)."""
    state = read_checkpoint_state(model_dir)
    log_path = os.path.join(model_dir, EPOCH_LOG_FILE)
    if state is None:
        if os.path.exists(run_directory.output_path(log_path)):
            write_text(log_path, "")  # a restart from epoch 0: no stale epochs
        return 0, []
    weights_path = os.path.join(model_dir, CHECKPOINT_SUBDIR, state["weights"])
    try:
        model.load_weights(weights_path)
    except (OSError, ValueError, KeyError) as e:
        raise run_directory.RunDirectoryError(
            f"Cannot load the checkpoint {weights_path} named by "
            f"{os.path.join(model_dir, CHECKPOINT_SUBDIR, STATE_FILE)} "
            f"({type(e).__name__}: {e}). It is truncated or corrupt, or the model no longer "
            "matches it. " + _restart_advice(model_dir)) from e
    history = state["history"]
    generators = _seed_generators(model)
    states = state.get("seed_generator_states", [])
    if len(states) == len(generators):
        for generator, value in zip(generators, states):
            generator.state.assign(np.asarray(value, generator.state.dtype))
    else:
        tf.get_logger().warning(
            "Checkpoint has %d seed-generator states, the model %d: not restored.",
            len(states), len(generators))
    # The epoch log may lack the last committed epoch (kill between commit and
    # append): rewrite it from the committed history.
    write_text(log_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in history))
    tf.get_logger().info("Resuming %s after epoch %d (step %s).", model_dir,
                         state["epoch"], state["step"])
    return int(state["epoch"]), history
