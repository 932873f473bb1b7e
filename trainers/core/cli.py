"""Thin absl command line shared by every family's entry point.

A family's entry module (`trainers/<family>/__main__.py`, or `trainers/toy.py`)
ends with

    if __name__ == "__main__":
        cli.run(training.train)   # or the family's own gin-configurable entry

and is run as

    python -m trainers.<family> --gin_file gin/<family>/<cfg>.gin \
        --gin_param 'train.epochs = 5' --model_dir runs/x

`--gin_file` and `--gin_param` repeat (gin's own flag names); files are
searched in the current directory and the repository root, so `include`
statements may use repository-relative paths. The entry is called as
`entry(model_dir=...)`; gin's config is cleared afterwards.

Guards (`trainers.core.run_directory`): `--gin_file` is required (the defaults
alone would start the multi-hour paper protocol; the error lists the configs
under `gin/`); the run directory is locked against a second writer; and a
directory started with another config is not resumed unless
`--allow_config_change` is given (the error names the bindings that differ).
Those errors, and a multi-worker cluster that does not form or loses a
worker (`trainers.core.strategy.ClusterError`), end the command with `ERROR: ...`
and exit status 1 instead of a traceback.

Several workers: with `train.strategy = 'multi_worker'` the strategy is created
right after gin is parsed, before the family runs any TensorFlow op (collective
ops must be configured at program start; families such as DRPM-VC load data
and fit baselines before `train`). A non-chief worker (`TF_CONFIG`) writes
under its temporary directory (`run_directory.WorkerOutput`, held for the
whole command).
"""

import os
import sys

from absl import app
from absl import flags
import gin

from trainers.core import run_directory

__all__ = ["available_configs", "define_flags", "parse_gin", "require_gin_files", "run",
           "run_with_gin"]

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def define_flags():
    """Defines --gin_file, --gin_param and --model_dir (idempotent)."""
    if "gin_file" in flags.FLAGS:
        return
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s), applied in order.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings, e.g. 'train.epochs = 5'.")
    flags.DEFINE_string("model_dir", None, "Run directory (created; reused to resume).")
    flags.DEFINE_bool("allow_config_change", False,
                      "Resume a run directory even if its stored config.gin differs.")


def available_configs():
    """The gin configs under the repository's `gin/`, as repository-relative paths."""
    root = os.path.join(_REPO_ROOT, "gin")
    configs = []
    for directory, _, names in os.walk(root):
        configs += [os.path.relpath(os.path.join(directory, n), _REPO_ROOT)
                    for n in names if n.endswith(".gin")]
    return sorted(configs)


def require_gin_files(gin_files):
    """Raises `app.UsageError` (listing the configs) when no `--gin_file` is given."""
    if not gin_files:
        raise app.UsageError(
            "--gin_file is required: without one the defaults would start the full paper "
            "protocol. Configs under gin/ (quick runs: *_quick.gin, seconds: gin/tests/):\n  "
            + "\n  ".join(available_configs()) + "\nReceived: --gin_file=[]")


def parse_gin(gin_files=(), gin_params=(), finalize=True):
    """Parses gin files and bindings (registering the external configurables)."""
    from trainers.core import gin_registry  # noqa: F401  pylint: disable=g-import-not-at-top
    for path in (os.getcwd(), _REPO_ROOT):
        gin.add_config_file_search_path(path)
    gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                        finalize_config=finalize)


def run_with_gin(entry, model_dir, gin_files=(), gin_params=(), allow_config_change=False):
    """Parses gin, calls `entry(model_dir=model_dir)` and clears gin's config.

    Usable from tests and notebooks without absl flags. The run directory is
    locked for the call, and its stored `config.gin` must match the parsed
    config unless `allow_config_change` (see `trainers.core.run_directory`).

    Raises:
        run_directory.RunDirectoryError: if another process uses `model_dir`,
            or it was started with another config.
    """
    try:
        parse_gin(gin_files, gin_params, finalize=False)
        with run_directory.WorkerOutput(), run_directory.RunLock(model_dir):
            run_directory.check_config(model_dir, gin.config_str(), allow_config_change,
                                       write=run_directory.is_chief_process())
            _start_multi_worker_strategy()
            return entry(model_dir=model_dir)
    finally:
        gin.clear_config()


def _start_multi_worker_strategy():
    """Creates the (per-process, cached) multi-worker strategy if `train` asks for one."""
    try:
        name = gin.query_parameter("train.strategy")
    except ValueError:  # not bound: the default strategy
        return
    if name == "multi_worker":
        from trainers.core import strategy  # pylint: disable=g-import-not-at-top
        strategy.get_strategy("multi_worker")


def run(entry):
    """absl entry point: `python -m trainers.<family> --gin_file ... --model_dir ...`."""
    define_flags()

    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
        model_dir = flags.FLAGS.model_dir
        if not model_dir:
            raise app.UsageError("--model_dir is required. Received: --model_dir=None")
        require_gin_files(flags.FLAGS.gin_file)
        from trainers.core.strategy import ClusterError  # pylint: disable=g-import-not-at-top
        try:
            run_with_gin(entry, model_dir, flags.FLAGS.gin_file, flags.FLAGS.gin_param,
                         allow_config_change=flags.FLAGS.allow_config_change)
        except (run_directory.RunDirectoryError, ClusterError) as e:
            sys.exit(f"ERROR: {e}")

    app.run(main)
