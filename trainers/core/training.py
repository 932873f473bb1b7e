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
from trainers.core.errors import SettingError
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


_CompileOptions = collections.namedtuple(
    "_CompileOptions", ["optimizer", "jit_compile", "steps_per_execution", "kwargs"])


@gin.configurable("train", denylist=["model_dir"])
def train(model_dir,
          # What is trained: the family's builders (see the module docstring).
          model_fn=gin.REQUIRED,
          data_fn=gin.REQUIRED,
          optimizer=None,
          callbacks_fn=None,
          extra_callbacks=(),
          evaluate_fn=None,
          # How long, where and from which seed.
          epochs=1,
          strategy="default",
          seed=0,
          deterministic=True,
          # Passed on to Keras (`compile`, `fit`) and to the run directory.
          compile_kwargs=None,
          jit_compile=False,
          steps_per_execution=1,
          validation_freq=1,
          verbose="auto",
          tensorboard=True,
          max_checkpoints_to_keep=2):
    """Builds, trains (resuming if possible), evaluates and writes a run.

    The steps: build the model and its optimizer under the strategy, restore
    the newest committed checkpoint, fit the remaining epochs, evaluate and
    write the results (`_Run`).

    Args:
        model_dir: run directory (created). Rerunning with the same directory
            resumes from its last finished epoch.

        model_fn: `() -> keras.Model`, called under `strategy.scope()`.
        data_fn: `(initial_epoch, epochs, seed) -> TrainData` (or a bare
            training dataset).
        optimizer: optimizer class or factory called under the scope with no
            arguments (bind its hyper-parameters with gin), e.g.
            `@keras.optimizers.AdamW`. Defaults to `keras.optimizers.Adam`.
        callbacks_fn: optional `(model) -> list of callbacks`, called with
            `model_dir=` too if it has that parameter.
        extra_callbacks: Keras callbacks run after the checkpoint callback.
        evaluate_fn: optional `(model, model_dir) -> dict` run after training.

        epochs: total number of epochs.
        strategy: strategy name for `trainers.core.strategy.get_strategy`, or a
            `tf.distribute.Strategy`.
        seed: seed for Python/NumPy/TF/Keras and passed to `data_fn`.
        deterministic: enable TensorFlow op determinism.

        compile_kwargs: extra `model.compile` keyword arguments (loss, metrics).
        jit_compile: passed to `model.compile`.
        steps_per_execution: passed to `model.compile`.
        validation_freq: passed to `fit`.
        verbose: `fit` verbosity ("auto" shows the progress bar).
        tensorboard: write TensorBoard logs under `model_dir/tensorboard`.
        max_checkpoints_to_keep: number of epoch weight files kept.

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
    extra_callbacks = _check_arguments(model_dir, epochs, optimizer, extra_callbacks)
    run = _Run(model_dir, strategy, seed, deterministic)
    # One writer per run directory (re-entrant: the CLI holds it already); a
    # non-chief worker takes no lock and writes to its temporary directory.
    with run_directory.WorkerOutput(), run_directory.RunLock(model_dir):
        data = run.start(data_fn, epochs)
        model, initial_epoch, checkpoint = run.build_and_restore(
            model_fn, _CompileOptions(optimizer, jit_compile, steps_per_execution,
                                      compile_kwargs),
            data, max_checkpoints_to_keep)
        callbacks = run.callbacks(model, callbacks_fn, checkpoint, tensorboard,
                                  extra_callbacks)
        run.write_operative_config()  # the builders have run
        if initial_epoch < epochs:
            run.fit(model, data, callbacks, checkpoint, initial_epoch, epochs,
                    validation_freq, verbose)
        history = checkpoint.history
        results = dict(evaluate_fn(model, model_dir)) if evaluate_fn is not None else {}
        run.write_results(model, initial_epoch, epochs, history, results)
        return TrainResult(model, history, results, model_dir, initial_epoch, run.strategy)


def _check_arguments(model_dir, epochs, optimizer, extra_callbacks):
    """Raises `ValueError` on an invalid argument of `train`; returns the
    extra callbacks as a list."""
    if not model_dir:
        raise ValueError(f"`model_dir` must be a directory path. Received: model_dir={model_dir!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise SettingError(f"`epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    if isinstance(optimizer, keras.optimizers.Optimizer):
        raise SettingError(
            "`optimizer` must be an optimizer class or factory (bind "
            "`train.optimizer = @keras.optimizers.Adam` without parentheses), so "
            "that it is created under the strategy scope. "
            f"Received: optimizer={optimizer!r}")
    extra_callbacks = list(extra_callbacks or ())
    for callback in extra_callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise SettingError(
                "`extra_callbacks` must be Keras callbacks (in gin: "
                "`[@keras.callbacks.EarlyStopping()]`, with parentheses). "
                f"Received: extra_callbacks={extra_callbacks!r}")
    return extra_callbacks


class _Run:
    """The steps of one `train` call, in order; they share its run directory,
    strategy, seed and start time.

    Creating it seeds everything and creates (or takes) the strategy.
    """

    def __init__(self, model_dir, strategy, seed, deterministic):
        self.model_dir = model_dir
        self.seed = seed
        self.start_time = time.time()
        set_seeds(seed, deterministic)
        if isinstance(strategy, str):
            self.strategy_name = strategy
            self.strategy = get_strategy(strategy)
        else:
            self.strategy_name = type(strategy).__name__
            self.strategy = strategy

    def start(self, data_fn, epochs):
        """Writes `config.gin` and returns the data of the epochs left to train."""
        os.makedirs(run_directory.output_path(self.model_dir), exist_ok=True)
        write_text(os.path.join(self.model_dir, "config.gin"), gin.config_str())
        state = read_checkpoint_state(self.model_dir)
        initial_epoch = int(state["epoch"]) if state else 0
        data = data_fn(initial_epoch=min(initial_epoch, epochs), epochs=epochs, seed=self.seed)
        return data if isinstance(data, TrainData) else TrainData(train=data)

    def build_and_restore(self, model_fn, compile_options, data, max_checkpoints_to_keep):
        """Builds and compiles the model and its optimizer under the strategy
        and restores the newest committed checkpoint into them.

        Returns:
            `(model, initial_epoch, checkpoint)`: the number of finished
            epochs, and the checkpoint callback holding their history.
        """
        with self.strategy.scope():
            model = model_fn()
            if not getattr(model, "compiled", False):
                make_optimizer = (compile_options.optimizer
                                  if compile_options.optimizer is not None
                                  else keras.optimizers.Adam)
                model.compile(optimizer=make_optimizer(),
                              jit_compile=compile_options.jit_compile,
                              steps_per_execution=compile_options.steps_per_execution,
                              **(compile_options.kwargs or {}))
            if not model.built:
                model(_first_inputs(data.train, data.validation), training=False)
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            initial_epoch, history = restore(model, self.model_dir)
        checkpoint = EpochCheckpoint(self.model_dir, history=history,
                                     max_to_keep=max_checkpoints_to_keep)
        return model, initial_epoch, checkpoint

    def callbacks(self, model, callbacks_fn, checkpoint, tensorboard, extra_callbacks):
        """The family's callbacks, the checkpoint, TensorBoard, then the extra
        callbacks."""
        callbacks = []
        if callbacks_fn is not None:
            if "model_dir" in inspect.signature(callbacks_fn).parameters:
                callbacks = list(callbacks_fn(model, model_dir=self.model_dir))
            else:
                callbacks = list(callbacks_fn(model))
        callbacks.append(checkpoint)
        if tensorboard:
            callbacks.append(ScalarSummaries(
                run_directory.output_path(os.path.join(self.model_dir, "tensorboard"))))
        callbacks.extend(extra_callbacks)
        return callbacks

    def write_operative_config(self):
        """Writes `operative_config.gin`: the parameters used so far."""
        write_text(os.path.join(self.model_dir, "operative_config.gin"),
                   gin.operative_config_str())

    def fit(self, model, data, callbacks, checkpoint, initial_epoch, epochs,
            validation_freq, verbose):
        """Trains epochs `initial_epoch .. epochs - 1`; a failed worker of a
        multi-worker cluster raises `ClusterError`."""
        train_data = data.train
        if (self.strategy.num_replicas_in_sync > 1 and data.steps_per_epoch
                and isinstance(train_data, tf.data.Dataset)):
            # `fit` takes exactly the steps it needs; an endless stream keeps
            # the replicas' batch size static (tf.distribute cannot rule out a
            # short last batch of a finite dataset), which set models need.
            train_data = train_data.repeat()
        try:
            model.fit(train_data, validation_data=data.validation, epochs=epochs,
                      initial_epoch=initial_epoch, steps_per_epoch=data.steps_per_epoch,
                      validation_steps=data.validation_steps,
                      validation_freq=validation_freq, callbacks=callbacks,
                      shuffle=False, verbose=verbose)
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as e:
            if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
                raise
            raise ClusterError(
                f"A worker of the cluster failed during training ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:600]}). {self.model_dir!r} holds "
                f"{len(checkpoint.history)} finished epoch(s); restart every worker "
                "with the same command to resume from there.") from e

    def write_results(self, model, initial_epoch, epochs, history, results):
        """Writes `results.json`, `results.md` and the final `operative_config.gin`."""
        summary = {
            "model_dir": self.model_dir,
            "epochs": epochs,
            "initial_epoch": initial_epoch,
            "step": int(model.optimizer.iterations.numpy()) if model.optimizer else None,
            "strategy": self.strategy_name,
            "num_replicas": self.strategy.num_replicas_in_sync,
            "seed": self.seed,
            "wall_time_s": time.time() - self.start_time,
            "final_logs": history[-1]["logs"] if history else {},
            "history": history,
            "results": results,
        }
        write_json(os.path.join(self.model_dir, "results.json"), summary)
        write_text(os.path.join(self.model_dir, "results.md"),
                   format_markdown_table(results or summary["final_logs"]))
        self.write_operative_config()
