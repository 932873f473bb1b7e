"""The gin-configurable `train` routine shared by every model family.

A family (e.g. `trainers/vc/driver.py`) supplies builders bound by gin:

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
* `train.extra_callbacks` (optional): Keras callbacks run after the
  checkpoint callback (they see each epoch once it is committed), e.g.
  `[@keras.callbacks.EarlyStopping()]`.

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

Several workers (`train.strategy = 'multi_worker'`): every worker runs the same
command and restores from `model_dir` (a shared file system); the chief writes
it, the others write the same files under a temporary directory that is
removed at the end (`run_directory.WorkerOutput`). A worker that dies stops
the others within `get_strategy.heartbeat_timeout` with a
`strategy.ClusterError`; restarting every worker with the same command resumes
from the last finished epoch.

Resume: rerunning the same command with the same `--model_dir` restores the
newest committed checkpoint (weights, optimizer slots and step, non-trainable
variables such as temperatures and seed-generator states) and continues with
`initial_epoch` = the number of finished epochs (`trainers.core.checkpoints`).

Models with hand-written losses subclass `tf_drpm.models.LossModel`, whose one
train step scales the loss over the global batch (`tf_drpm.models.scale_loss`).
"""

import collections
import inspect
import os
import time

import gin
import keras
import tensorflow as tf

from trainers.core import gin_registry  # noqa: F401  (registers external configurables)
from trainers.core import run_directory
from trainers.core.checkpoints import CHECKPOINT_SUBDIR
from trainers.core.checkpoints import EPOCH_LOG_FILE
from trainers.core.checkpoints import EpochCheckpoint
from trainers.core.checkpoints import read_checkpoint_state
from trainers.core.checkpoints import restore
from trainers.core.run_files import format_markdown_table
from trainers.core.run_files import write_json
from trainers.core.run_files import write_text
from trainers.core.scalar_summaries import ScalarSummaries
from trainers.core.strategy import ClusterError
from trainers.core.strategy import get_strategy

__all__ = [
    "CHECKPOINT_SUBDIR",
    "EPOCH_LOG_FILE",
    "EpochCheckpoint",
    "TrainData",
    "TrainResult",
    "format_markdown_table",
    "read_checkpoint_state",
    "set_seeds",
    "train",
    "write_json",
]

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
          extra_callbacks=(),
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
        strategy: strategy name for `trainers.core.strategy.get_strategy`, or a
            `tf.distribute.Strategy`.
        seed: seed for Python/NumPy/TF/Keras and passed to `data_fn`.
        deterministic: enable TensorFlow op determinism.
        callbacks_fn: optional `(model) -> list of callbacks`, called with
            `model_dir=` too if it has that parameter.
        extra_callbacks: Keras callbacks run after the checkpoint callback.
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
        ClusterError: if a worker of a multi-worker cluster fails (the message
            says how to resume).
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
    extra_callbacks = list(extra_callbacks or ())
    for callback in extra_callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(
                "`extra_callbacks` must be Keras callbacks (in gin: "
                "`[@keras.callbacks.EarlyStopping()]`, with parentheses). "
                f"Received: extra_callbacks={extra_callbacks!r}")
    start = time.time()
    set_seeds(seed, deterministic)
    if isinstance(strategy, str):
        strategy_name = strategy
        strategy = get_strategy(strategy)
    else:
        strategy_name = type(strategy).__name__
    # One writer per run directory (re-entrant: the CLI holds it already); a
    # non-chief worker takes no lock and writes to its temporary directory.
    with run_directory.WorkerOutput(), run_directory.RunLock(model_dir):
        os.makedirs(run_directory.output_path(model_dir), exist_ok=True)
        write_text(os.path.join(model_dir, "config.gin"), gin.config_str())

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
            initial_epoch, history = restore(model, model_dir)

        callbacks = []
        if callbacks_fn is not None:
            if "model_dir" in inspect.signature(callbacks_fn).parameters:
                callbacks = list(callbacks_fn(model, model_dir=model_dir))
            else:
                callbacks = list(callbacks_fn(model))
        checkpoint = EpochCheckpoint(model_dir, history=history,
                                     max_to_keep=max_checkpoints_to_keep)
        callbacks.append(checkpoint)
        if tensorboard:
            callbacks.append(ScalarSummaries(
                run_directory.output_path(os.path.join(model_dir, "tensorboard"))))
        callbacks.extend(extra_callbacks)
        write_text(os.path.join(model_dir, "operative_config.gin"),
                   gin.operative_config_str())

        train_data = data.train
        if (strategy.num_replicas_in_sync > 1 and data.steps_per_epoch
                and isinstance(train_data, tf.data.Dataset)):
            # `fit` takes exactly the steps it needs; an endless stream keeps
            # the replicas' batch size static (tf.distribute cannot rule out a
            # short last batch of a finite dataset), which set models need.
            train_data = train_data.repeat()
        if initial_epoch < epochs:
            try:
                model.fit(train_data, validation_data=data.validation, epochs=epochs,
                          initial_epoch=initial_epoch, steps_per_epoch=data.steps_per_epoch,
                          validation_steps=data.validation_steps,
                          validation_freq=validation_freq, callbacks=callbacks,
                          shuffle=False, verbose=verbose)
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as e:
                if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
                    raise
                raise ClusterError(
                    f"A worker of the cluster failed during training ({type(e).__name__}: "
                    f"{' '.join(str(e).split())[:600]}). {model_dir!r} holds "
                    f"{len(checkpoint.history)} finished epoch(s); restart every worker "
                    "with the same command to resume from there.") from e
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
        write_json(os.path.join(model_dir, "results.json"), summary)
        write_text(os.path.join(model_dir, "results.md"),
                   format_markdown_table(results or summary["final_logs"]))
        write_text(os.path.join(model_dir, "operative_config.gin"), gin.operative_config_str())
        return TrainResult(model, history, results, model_dir, initial_epoch, strategy)
