"""Smoke runs of a family under one `tf.distribute` set-up, recorded per step.

Runs a family's smoke config through the shared trainer
(`trainers.core.training.train`) for each of `--methods`, under the default
strategy, `MirroredStrategy` over logical CPUs or one worker of a
`MultiWorkerMirroredStrategy` (the cluster from `TF_CONFIG`), and writes one
`.npz` file: the logs after every step, the weights (model and optimizer)
after the first step and after the run, and the run summary (`results.json`).
The tests (`tests/trainers/weak/test_distributed_step.py`,
`tests/trainers/mtl/test_distributed_step.py`) compare the set-ups
with it: the same steps on 1 or 2 replicas must give the same losses and
weights.

    python -m trainers.core.distributed_step --family weak --methods drpm \\
        --strategy mirrored --num_cpus 2 --dtype float64 --output /tmp/mirrored.npz

A family is a package `trainers.<family>` whose `__init__` declares its
`SMOKE_RUN` (the weak and multitask families do): a dict with the smoke
`config` (repository-relative), the `method_binding` (e.g.
`'weak_model.method'`), the `methods` and further `bindings`; its `driver`
module registers its gin configurables. This module imports them by name, so
core code does not depend on any family.

One process per set-up: logical CPUs must be configured before TensorFlow
runs any op, and a worker of a multi-worker cluster is a process
(`trainers.core.workers.run_workers(argv, module="trainers.core.distributed_step")`).
"""

import argparse
import importlib
import json
import os
import pkgutil
import sys
import tempfile

import gin
import keras

__all__ = ["StepRecorder", "families", "load_result", "main", "run", "save_result"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_RECORDERS = []  # the StepRecorders of this process, in creation order


@gin.configurable("StepRecorder")
class StepRecorder(keras.callbacks.Callback):
    """Keeps every step's logs and the first step's weights (`model.weights`
    and the optimizer's variables, by path).

    Bound as `train.extra_callbacks = [@StepRecorder()]`; each instance is
    appended to this module's list of recorders when created.
    """

    def __init__(self):
        super().__init__()
        self.step_logs = []
        self.first_step_weights = None
        _RECORDERS.append(self)

    def on_train_batch_end(self, batch, logs=None):
        self.step_logs.append({name: float(value) for name, value in (logs or {}).items()})
        if self.first_step_weights is None:
            self.first_step_weights = _weights(self.model)


def _weights(model):
    import numpy as np  # pylint: disable=g-import-not-at-top

    variables = list(model.weights)
    if model.optimizer is not None:
        variables += [v for v in model.optimizer.variables if "iteration" not in v.path]
    return {v.path: np.array(v.numpy()) for v in variables}


def families():
    """`{family: SMOKE_RUN}` of the packages `trainers.<family>` that declare one.

    Imports only the packages' `__init__` modules (no TensorFlow), so logical
    CPUs can still be configured afterwards.
    """
    import trainers  # pylint: disable=g-import-not-at-top

    found = {}
    for info in pkgutil.iter_modules(trainers.__path__):
        if info.ispkg:
            package = importlib.import_module(f"trainers.{info.name}")
            if hasattr(package, "SMOKE_RUN"):
                found[info.name] = package.SMOKE_RUN
    return found


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(families()), required=True)
    parser.add_argument("--methods", default=None,
                        help="Comma-separated methods (default: all of the family).")
    parser.add_argument("--strategy", choices=("default", "mirrored", "multi_worker"),
                        default="default")
    parser.add_argument("--num_cpus", type=int, default=2,
                        help="Logical CPUs (replicas) of the mirrored strategy.")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="keras.config.floatx() of the models.")
    parser.add_argument("--evaluate", action="store_true",
                        help="Keep the smoke config's train.evaluate_fn (default: none).")
    parser.add_argument("--gin_param", action="append", default=[],
                        help="Further gin bindings (repeatable).")
    parser.add_argument("--model_dir", default=None,
                        help="Parent of the run directories (default: a temporary one).")
    parser.add_argument("--output", required=True, help="The .npz file (written by the chief).")
    args = parser.parse_args(argv)
    all_methods = tuple(families()[args.family]["methods"])
    args.methods = tuple(args.methods.split(",")) if args.methods else all_methods
    unknown = [m for m in args.methods if m not in all_methods]
    if unknown:
        parser.error(f"--methods must be among {all_methods}. Received: --methods="
                     f"{','.join(args.methods)}")
    return args


def run(args):
    """Runs every method of `args` (see `_parse`); returns `{method: result}`.

    Each result holds `step_logs` (one dict per step), `first_step_weights`,
    `weights` (after the run; `{path: array}`) and `summary` (the run's
    `results.json` content, as the trainer returns it).
    """
    devices = None
    if args.strategy == "mirrored":
        from trainers.core import strategy as strategy_lib  # pylint: disable=g-import-not-at-top

        devices = strategy_lib.create_logical_cpu_devices(args.num_cpus)
    from trainers.core import cli  # pylint: disable=g-import-not-at-top
    from trainers.core import training  # pylint: disable=g-import-not-at-top

    smoke_run = families()[args.family]
    importlib.import_module(f"trainers.{args.family}.driver")  # registers its configurables
    keras.config.set_floatx(args.dtype)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="distributed_step_")
    results = {}
    for method in args.methods:
        params = [f"{smoke_run['method_binding']} = {method!r}", *smoke_run["bindings"],
                  f"train.strategy = {args.strategy!r}",
                  "train.extra_callbacks = [@StepRecorder()]"]
        if devices is not None:
            params.append(f"get_strategy.devices = {devices!r}")
        if not args.evaluate:
            params.append("train.evaluate_fn = None")
        params += args.gin_param
        run_dir = os.path.join(model_dir, method)
        if os.path.exists(os.path.join(run_dir, "checkpoints")):
            # The trainer would resume it and record no (or fewer) steps.
            raise ValueError(
                f"The run directory {run_dir!r} holds a run already: use a new "
                f"--model_dir. Received: --model_dir={args.model_dir!r}")
        del _RECORDERS[:]
        result = cli.run_with_gin(training.train, run_dir,
                                  [os.path.join(REPO_ROOT, smoke_run["config"])], params)
        recorder = _RECORDERS[-1]
        summary = {
            "num_replicas": result.strategy.num_replicas_in_sync,
            "step": int(result.model.optimizer.iterations.numpy()),
            "history": result.history,
            "results": result.results,
        }
        results[method] = {
            "step_logs": recorder.step_logs,
            "first_step_weights": recorder.first_step_weights,
            "weights": _weights(result.model),
            "summary": summary,
        }
        keras.backend.clear_session()
    return results


def save_result(path, results):
    """Writes `run`'s results to an `.npz` (arrays by key, the rest as JSON)."""
    import numpy as np  # pylint: disable=g-import-not-at-top

    arrays, meta = {}, {}
    for method, result in results.items():
        meta[method] = {"step_logs": result["step_logs"], "summary": result["summary"],
                        "weights": sorted(result["weights"])}
        for which in ("first_step_weights", "weights"):
            for index, path_ in enumerate(sorted(result[which])):
                arrays[f"{method}/{which}/{index}"] = result[which][path_]
    arrays["meta"] = np.array(json.dumps(meta, default=float))
    np.savez(path, **arrays)


def load_result(path):
    """Reads `save_result`'s file back: `{method: result}` as `run` returns it."""
    import numpy as np  # pylint: disable=g-import-not-at-top

    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        results = {}
        for method, info in meta.items():
            paths = info["weights"]
            results[method] = {
                "step_logs": info["step_logs"],
                "summary": info["summary"],
                **{which: {p: data[f"{method}/{which}/{i}"] for i, p in enumerate(paths)}
                   for which in ("first_step_weights", "weights")},
            }
    return results


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    results = run(args)
    from trainers.core import run_directory  # pylint: disable=g-import-not-at-top

    if args.strategy != "multi_worker" or run_directory.is_chief_process():
        save_result(args.output, results)


if __name__ == "__main__":
    main()
