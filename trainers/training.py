"""The gin-configurable `train` routine shared by every model family.

A family (e.g. `trainers/vc.py`) supplies builders bound by gin:

* `train.model_fn`: `() -> keras.Model`, called under `strategy.scope()`. The
  model is compiled here with `train.optimizer` unless the builder already
  compiled it.
* `train.data_fn`: `(initial_epoch, epochs, seed) -> TrainData`: batched
  `tf.data` datasets of the GLOBAL batch size. With `TrainData.steps_per_epoch`
  set, `fit` keeps one iterator over all epochs, so `data_fn` can return a
  stream that covers exactly epochs `initial_epoch .. epochs - 1` (see
  `tf_drpm.data.set_batches`); a resumed run then sees the same batches as an
  uninterrupted one.
* `train.optimizer`: an optimizer CLASS or factory, e.g.
  `@keras.optimizers.AdamW` (no parentheses: it must be called under the
  strategy scope).
* `train.callbacks_fn` (optional): `(model) -> list of keras callbacks` (or
  `(model, model_dir)` if it has a `model_dir` parameter), e.g. a
  temperature schedule or a prior refit; they run before the checkpoint
  callback, so what they change at an epoch end is in that epoch's checkpoint.
* `train.evaluate_fn` (optional): `(model, model_dir) -> dict` of results,
  either flat `{metric: value}` or `{row: {metric: value}}` (one table row per
  method).

Run directory (`model_dir`):

    config.gin             the gin config as parsed (gin.config_str())
    operative_config.gin   the parameters actually used (gin.operative_config_str())
    checkpoints/           epoch-NNNN.weights.h5 (model + optimizer state) and
                           state.json (the commit point: last finished epoch,
                           optimizer step and the per-epoch history)
    epochs.jsonl           one JSON line per finished epoch: epoch, step, logs
    tensorboard/           TensorBoard event files (train/, validation/)
    results.json           run summary: history, final logs, evaluate_fn results
    results.md             the results as a markdown table

Guards: `train` holds `run_directory.RunLock(model_dir)` (one writer per
directory); a corrupt `state.json` or checkpoint raises
`run_directory.RunDirectoryError` naming the file and how to restart.

Resume: rerunning the same command with the same `--model_dir` restores the
newest committed checkpoint (weights, optimizer slots and step, non-trainable
variables such as temperatures and seed-generator states) and continues with
`initial_epoch` = the number of finished epochs. A checkpoint is written to a
temporary file and renamed, and `state.json` is replaced atomically after it,
so a kill at any instant loses at most the unfinished epoch.

Fault injection for tests: with the environment variable
`TF_DRPM_KILL_AFTER_EPOCH=N` a run sends itself SIGKILL right after committing
epoch `N` (a real `kill -9` at a known point; used by the kill-and-resume
tests of every family).

Models with hand-written losses subclass `tf_drpm.models.LossModel`, whose one
train step scales the loss over the global batch (`tf_drpm.models.scale_loss`).
"""

import collections
import contextlib
import inspect
import json
import math
import os
import signal
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from trainers import gin_registry  # noqa: F401  (registers external configurables)
from trainers import run_directory
from trainers.scalar_summaries import ScalarSummaries
from trainers.strategy import get_strategy

__all__ = [
    "EpochCheckpoint",
    "TrainData",
    "TrainResult",
    "format_markdown_table",
    "read_checkpoint_state",
    "set_seeds",
    "train",
    "write_json",
]

CHECKPOINT_SUBDIR = "checkpoints"
STATE_FILE = "state.json"
EPOCH_LOG_FILE = "epochs.jsonl"
KILL_AFTER_EPOCH_ENV = "TF_DRPM_KILL_AFTER_EPOCH"

TrainData = collections.namedtuple(
    "TrainData", ["train", "validation", "steps_per_epoch", "validation_steps"],
    defaults=(None, None, None))
TrainData.__doc__ = """What a family's `data_fn` returns.

Fields:
    train: `tf.data.Dataset` of global batches (or anything `fit` accepts).
    validation: optional validation dataset.
    steps_per_epoch: optional int; when set, `fit` uses one iterator across
        epochs, so `train` must yield `steps_per_epoch * (epochs - initial_epoch)`
        batches.
    validation_steps: optional int.
"""

TrainResult = collections.namedtuple(
    "TrainResult",
    ["model", "history", "results", "model_dir", "initial_epoch", "strategy"])


def _to_python(value):
    """Converts tensors / numpy scalars / nested structures to JSON types."""
    if isinstance(value, dict):
        return {str(k): _to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_python(v) for v in value]
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim else value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_json(path, obj):
    """Writes `obj` as JSON to `path` atomically (temporary file + rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(_to_python(obj), f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_text(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def format_markdown_table(results, row_header="method", precision=4):
    """Formats results as a markdown table.

    Args:
        results: `{metric: value}` (one row named "model") or
            `{row_name: {metric: value}}`.
        row_header: header of the first column.
        precision: digits after the decimal point for floats.

    Returns:
        The table as a string (header, separator and one line per row).
    """
    if not results:
        return ""
    if not all(isinstance(v, dict) for v in results.values()):
        results = {"model": results}
    columns = []
    for row in results.values():
        for key in row:
            if key not in columns:
                columns.append(key)

    def fmt(value):
        value = _to_python(value)
        if isinstance(value, float):
            return f"{value:.{precision}f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join([row_header] + columns) + " |",
             "|" + "|".join(["---"] * (len(columns) + 1)) + "|"]
    for name, row in results.items():
        lines.append("| " + " | ".join([str(name)] + [fmt(row.get(c)) for c in columns]) + " |")
    return "\n".join(lines) + "\n"


def set_seeds(seed, deterministic=True):
    """Seeds Python, NumPy, TensorFlow and Keras; optionally deterministic ops.

    Args:
        seed: Python int.
        deterministic: if True, calls `tf.config.experimental.enable_op_determinism()`
            (process-wide), so that a CPU run is bitwise repeatable.
    """
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception as e:  # pylint: disable=broad-except
            tf.get_logger().warning("Could not enable op determinism: %s", e)


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


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
    `max_to_keep` weight files.

    Args:
        model_dir: the run directory.
        history: records of the epochs already finished (from a restore).
        max_to_keep: number of weight files to keep.
        write: whether this worker writes files (False on non-chief workers).
    """

    def __init__(self, model_dir, history=(), max_to_keep=2, write=True):
        super().__init__()
        self.model_dir = model_dir
        self.checkpoint_dir = os.path.join(model_dir, CHECKPOINT_SUBDIR)
        self.history = list(history)
        self.max_to_keep = max(1, int(max_to_keep))
        self.write = write
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy()) if self.model.optimizer else None
        record = {
            "epoch": epoch + 1,
            "step": step,
            "logs": _to_python(dict(logs or {})),
            "time": time.time() - (self._epoch_start or time.time()),
        }
        self.history.append(record)
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        path = os.path.join(self.checkpoint_dir, name)
        tmp = os.path.join(self.checkpoint_dir, f"tmp-{name}")
        if not self.write:
            return
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
        write_json(os.path.join(self.checkpoint_dir, STATE_FILE), {
            "epoch": epoch + 1, "step": step, "weights": name,
            "seed_generator_states": [
                g.state.numpy().tolist() for g in _seed_generators(self.model)],
            "history": self.history})
        with open(os.path.join(self.model_dir, EPOCH_LOG_FILE), "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        kept = sorted(n for n in os.listdir(self.checkpoint_dir)
                      if n.startswith("epoch-") and n.endswith(".weights.h5"))
        for old in kept[:-self.max_to_keep]:
            os.remove(os.path.join(self.checkpoint_dir, old))
        if os.environ.get(KILL_AFTER_EPOCH_ENV) == str(epoch + 1):
            os.kill(os.getpid(), signal.SIGKILL)  # tests: a kill -9 after a committed epoch


def _seed_generators(model):
    """The model's `keras.random.SeedGenerator`s, in a fixed (layer-walk) order.

    Keras weight files do not hold seed-generator states, so they are saved in
    `state.json` to let a resumed run continue the same random streams.
    """
    generators = []
    for layer in model._flatten_layers(include_self=True):  # pylint: disable=protected-access
        generators.extend(getattr(layer, "_seed_generators", []))
    return generators


def _first_inputs(*datasets):
    """The inputs of the first batch of the first non-empty dataset."""
    for dataset in datasets:
        if dataset is None:
            continue
        try:
            batch = next(iter(dataset))
        except StopIteration:
            continue  # e.g. the training stream of a finished run
        if isinstance(batch, (tuple, list)):
            return batch[0]
        return batch
    raise ValueError(
        "The model is not built and the training data is empty (a finished "
        "run?): build the model in `model_fn`, e.g. with model.build(shape).")


def _restore(model, model_dir):
    """Restores the newest committed checkpoint; returns (initial_epoch, history)."""
    state = read_checkpoint_state(model_dir)
    log_path = os.path.join(model_dir, EPOCH_LOG_FILE)
    if state is None:
        if os.path.exists(log_path):  # a restart from epoch 0: no stale epochs
            _write_text(log_path, "")
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
    _write_text(log_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in history))
    tf.get_logger().info("Resuming %s after epoch %d (step %s).", model_dir,
                         state["epoch"], state["step"])
    return int(state["epoch"]), history


@gin.configurable("train", denylist=["model_dir"])
def train(model_dir,
          model_fn=gin.REQUIRED,
          data_fn=gin.REQUIRED,
          optimizer=None,
          epochs=1,
          strategy="default",
          seed=0,
          deterministic=True,
          callbacks_fn=None,
          evaluate_fn=None,
          compile_kwargs=None,
          jit_compile=False,
          steps_per_execution=1,
          validation_freq=1,
          tensorboard=True,
          max_checkpoints_to_keep=2,
          verbose="auto"):
    """Builds, trains (resuming if possible), evaluates and writes a run.

    Args:
        model_dir: run directory (created). Rerunning with the same directory
            resumes from its last finished epoch.
        model_fn: `() -> keras.Model`, called under `strategy.scope()`.
        data_fn: `(initial_epoch, epochs, seed) -> TrainData` (or a bare
            training dataset).
        optimizer: optimizer class or factory called under the scope with no
            arguments (bind its hyper-parameters with gin), e.g.
            `@keras.optimizers.AdamW`. Defaults to `keras.optimizers.Adam`.
        epochs: total number of epochs.
        strategy: strategy name for `trainers.strategy.get_strategy`, or a
            `tf.distribute.Strategy`.
        seed: seed for Python/NumPy/TF/Keras and passed to `data_fn`.
        deterministic: enable TensorFlow op determinism.
        callbacks_fn: optional `(model) -> list of callbacks`, called with
            `model_dir=` too if it has that parameter.
        evaluate_fn: optional `(model, model_dir) -> dict` run after training.
        compile_kwargs: extra `model.compile` keyword arguments (loss, metrics).
        jit_compile: passed to `model.compile`.
        steps_per_execution: passed to `model.compile`.
        validation_freq: passed to `fit`.
        tensorboard: write TensorBoard logs under `model_dir/tensorboard`.
        max_checkpoints_to_keep: number of epoch weight files kept.
        verbose: `fit` verbosity ("auto" shows the progress bar).

    Returns:
        A `TrainResult(model, history, results, model_dir, initial_epoch,
        strategy)`; `history` holds one record per finished epoch (including
        epochs finished before a resume).

    Raises:
        ValueError: on an invalid argument, e.g. an optimizer instance (it
            must be created under the strategy scope) or `epochs < 1`.
    """
    if not model_dir:
        raise ValueError(f"`model_dir` must be a directory path. Received: model_dir={model_dir!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    if isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            "`optimizer` must be an optimizer class or factory (bind "
            "`train.optimizer = @keras.optimizers.Adam` without parentheses), so "
            "that it is created under the strategy scope. "
            f"Received: optimizer={optimizer!r}")
    os.makedirs(model_dir, exist_ok=True)
    start = time.time()
    set_seeds(seed, deterministic)
    if isinstance(strategy, str):
        strategy_name = strategy
        strategy = get_strategy(strategy)
    else:
        strategy_name = type(strategy).__name__
    write = _is_chief(strategy)
    # One writer per run directory (re-entrant: the CLI holds it already).
    lock = run_directory.RunLock(model_dir) if write else contextlib.nullcontext()
    with lock:
        if write:
            _write_text(os.path.join(model_dir, "config.gin"), gin.config_str())

        state = read_checkpoint_state(model_dir)
        initial_epoch = int(state["epoch"]) if state else 0
        data = data_fn(initial_epoch=min(initial_epoch, epochs), epochs=epochs, seed=seed)
        if not isinstance(data, TrainData):
            data = TrainData(train=data)

        with strategy.scope():
            model = model_fn()
            if not getattr(model, "compiled", False):
                make_optimizer = optimizer if optimizer is not None else keras.optimizers.Adam
                model.compile(optimizer=make_optimizer(), jit_compile=jit_compile,
                              steps_per_execution=steps_per_execution,
                              **(compile_kwargs or {}))
            if not model.built:
                model(_first_inputs(data.train, data.validation), training=False)
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            initial_epoch, history = _restore(model, model_dir)

        callbacks = []
        if callbacks_fn is not None:
            if "model_dir" in inspect.signature(callbacks_fn).parameters:
                callbacks = list(callbacks_fn(model, model_dir=model_dir))
            else:
                callbacks = list(callbacks_fn(model))
        checkpoint = EpochCheckpoint(model_dir, history=history,
                                     max_to_keep=max_checkpoints_to_keep, write=write)
        callbacks.append(checkpoint)
        if tensorboard:
            callbacks.append(ScalarSummaries(os.path.join(model_dir, "tensorboard")))
        if write:
            _write_text(os.path.join(model_dir, "operative_config.gin"),
                        gin.operative_config_str())

        if initial_epoch < epochs:
            model.fit(data.train, validation_data=data.validation, epochs=epochs,
                      initial_epoch=initial_epoch, steps_per_epoch=data.steps_per_epoch,
                      validation_steps=data.validation_steps,
                      validation_freq=validation_freq, callbacks=callbacks,
                      shuffle=False, verbose=verbose)
        history = checkpoint.history

        results = dict(evaluate_fn(model, model_dir)) if evaluate_fn is not None else {}
        summary = {
            "model_dir": model_dir,
            "epochs": epochs,
            "initial_epoch": initial_epoch,
            "step": int(model.optimizer.iterations.numpy()) if model.optimizer else None,
            "strategy": strategy_name,
            "num_replicas": strategy.num_replicas_in_sync,
            "seed": seed,
            "wall_time_s": time.time() - start,
            "final_logs": history[-1]["logs"] if history else {},
            "history": history,
            "results": results,
        }
        if write:
            write_json(os.path.join(model_dir, "results.json"), summary)
            table = format_markdown_table(results or summary["final_logs"])
            _write_text(os.path.join(model_dir, "results.md"), table)
            _write_text(os.path.join(model_dir, "operative_config.gin"),
                        gin.operative_config_str())
        return TrainResult(model, history, results, model_dir, initial_epoch, strategy)
