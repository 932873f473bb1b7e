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
Errors the user can fix end the command with one `ERROR: ...` line naming the
problem and the fix, and exit status 1, instead of a traceback (`--verbose`
re-raises it with the traceback): a missing `--gin_file` or `--model_dir`; a
gin file that does not exist or does not parse; an unknown configurable or
parameter; a `--model_dir` that is a regular file or cannot be written; a
`TF_CONFIG` that is set but unusable (all checked before anything is built);
the run-directory guards above (`run_directory.RunDirectoryError`); a
multi-worker cluster that does not form or loses a worker
(`trainers.core.strategy.ClusterError`); a directory that cannot be written
during the run (permission, read-only file system, no space); and a family's
own `CommandError` (e.g. an evaluation setting that cannot work with the data
set, found before training). Entry points that call `absl.app.run` with their
own `main` (`trainers.mtl.sweep`, `trainers.mtl.allocation`) get the same
treatment from an absl exception handler that importing this module installs.

Several workers: with `train.strategy = 'multi_worker'` the strategy is created
right after gin is parsed, before the family runs any TensorFlow op (collective
ops must be configured at program start; families such as DRPM-VC load data
and fit baselines before `train`). A non-chief worker (`TF_CONFIG`) writes
under its temporary directory (`run_directory.WorkerOutput`, held for the
whole command).
"""

import errno
import os
import sys
import tempfile
import tokenize

from absl import app
from absl import flags
import gin

from trainers.core import run_directory
from trainers.core.errors import CommandError
from trainers.core.errors import SettingError

__all__ = ["CommandError", "SettingError", "available_configs", "check_model_dir", "check_tf_config_env",
           "define_flags", "error_message", "parse_gin", "require_gin_files", "run",
           "run_with_gin"]

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Write failures the user fixes with another directory, its permissions, space or mount.
_WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT",
                                      "ENOTDIR", "EISDIR") if hasattr(errno, name))


def define_flags():
    """Defines --gin_file, --gin_param, --model_dir, --allow_config_change and
    --verbose (idempotent)."""
    _define_verbose_flag()
    if "gin_file" in flags.FLAGS:
        return
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s), applied in order.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings, e.g. 'train.epochs = 5'.")
    flags.DEFINE_string("model_dir", None, "Run directory (created; reused to resume).")
    flags.DEFINE_bool("allow_config_change", False,
                      "Resume a run directory even if its stored config.gin differs.")


def _define_verbose_flag():
    if "verbose" not in flags.FLAGS:
        flags.DEFINE_bool("verbose", False,
                          "On an error the user can fix, re-raise it with its traceback "
                          "instead of printing one ERROR line.")


def available_configs():
    """The gin configs under the repository's `gin/`, as repository-relative paths."""
    root = os.path.join(_REPO_ROOT, "gin")
    configs = []
    for directory, _, names in os.walk(root):
        configs += [os.path.relpath(os.path.join(directory, n), _REPO_ROOT)
                    for n in names if n.endswith(".gin")]
    return sorted(configs)


def require_gin_files(gin_files):
    """Raises `CommandError` (listing the configs) when no `--gin_file` is given."""
    if not gin_files:
        raise CommandError(
            "--gin_file is required: without one the defaults would start the full paper "
            "protocol. Pass one of the configs under gin/ (quick runs: *_quick.gin, "
            "seconds: gin/tests/). Received: --gin_file=[]\n  "
            + "\n  ".join(available_configs()))


def check_study_flags(argv):
    """The flags of a study that runs several configs into one `--output_dir`
    (`trainers.mtl.sweep`, `trainers.mtl.allocation`, `trainers.vc.budget`):
    no stray arguments, a `--gin_file` and an `--output_dir`."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    require_gin_files(flags.FLAGS.gin_file)
    if not flags.FLAGS.output_dir:
        raise CommandError("--output_dir is required: the directory to create, "
                           "or one to resume. Received: --output_dir=None")


def parse_gin(gin_files=(), gin_params=(), finalize=True):
    """Parses gin files and bindings (registering the external configurables).

    Raises:
        CommandError: if a file does not exist or does not parse, or a binding
            names an unknown configurable or parameter.
    """
    from trainers.core import gin_registry  # noqa: F401  pylint: disable=g-import-not-at-top
    for path in (os.getcwd(), _REPO_ROOT):
        gin.add_config_file_search_path(path)
    try:
        gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                            finalize_config=finalize)
    except (OSError, ValueError, SyntaxError, tokenize.TokenError) as e:
        raise CommandError(_gin_error_message(e, gin_files)) from e


def _gin_error_message(error, gin_files):
    """One line: what gin could not read, where, and the fix."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, tokenize.TokenError):
        lines = [f"{error.args[0]} (line {error.args[1][0]})" if len(error.args) > 1
                 else str(error.args[0])]
    what = lines[0].rstrip(".") if lines else type(error).__name__
    if lines[1:]:
        what += f" ({': '.join(lines[1:])})"
    if isinstance(error, OSError):
        return (f"Cannot read a gin file: {what}. Fix the --gin_file path (relative to "
                "the current directory or the repository root), e.g. one of "
                f"{', '.join(available_configs()[:3])}, ... Received: "
                f"--gin_file={list(gin_files)}")
    if "No configurable matching" in what:
        fix = ("Fix the configurable's name (the gin names of the family's builders, "
               "as in its configs under gin/, e.g. `train.epochs`), or remove the binding.")
    elif "doesn't have a parameter named" in what:
        fix = ("Fix the parameter's name (the configurable's Python arguments, see its "
               "docstring), or remove the binding.")
    else:
        fix = "Fix the syntax of the gin file or --gin_param binding (`name.param = value`)."
    return f"Invalid gin config ({type(error).__name__}): {what}. {fix}"


def check_tf_config_env():
    """Raises `CommandError` if `TF_CONFIG` is set but not a usable cluster."""
    tf_config = os.environ.get("TF_CONFIG", "")
    if not tf_config.strip():
        return
    from trainers.core import strategy  # pylint: disable=g-import-not-at-top
    try:
        strategy.check_tf_config(tf_config)
    except ValueError as e:
        raise CommandError(
            f"{e} Fix TF_CONFIG (a JSON object with a `cluster` of task address lists "
            "and this process's `task` type and index), or unset it for a "
            "single-process run.") from e


def check_model_dir(model_dir, flag="--model_dir"):
    """Raises `CommandError` unless `model_dir` is a directory this process can
    create and write (a non-chief worker of a cluster only reads it).

    Creates `model_dir` on the chief.
    """
    if not model_dir:
        raise CommandError(
            f"{flag} is required: the run directory to create, or an existing one to "
            f"resume. Received: {flag}={model_dir!r}")
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise CommandError(
            f"{flag} {model_dir!r} is a regular file, not a directory. Pass a new "
            f"directory path or a run directory to resume. Received: {flag}={model_dir!r}")
    if not run_directory.is_chief_process():
        return
    try:
        os.makedirs(model_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=model_dir):
            pass
    except OSError as e:
        raise CommandError(
            f"{flag} {model_dir!r} cannot be written ({e.strerror}: {e.filename}). Pass "
            "a directory you can write, or fix its permissions. "
            f"Received: {flag}={model_dir!r}") from e


def run_with_gin(entry, model_dir, gin_files=(), gin_params=(), allow_config_change=False):
    """Parses gin, calls `entry(model_dir=model_dir)` and clears gin's config.

    Usable from tests and notebooks without absl flags. Before anything is
    built: `TF_CONFIG` (if set) and the gin config are checked and `model_dir`
    must be a directory this process can write. The run directory is then
    locked for the call, and its stored `config.gin` must match the parsed
    config unless `allow_config_change` (see `trainers.core.run_directory`).

    Raises:
        CommandError: on an unusable `TF_CONFIG`, gin file or binding, or
            `model_dir`.
        run_directory.RunDirectoryError: if another process uses `model_dir`,
            or it was started with another config.
    """
    try:
        check_tf_config_env()
        parse_gin(gin_files, gin_params, finalize=False)
        check_model_dir(model_dir)
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


def error_message(error):
    """The `ERROR:` text of a failure the user can fix, or None (a bug: traceback).

    `CommandError`, `run_directory.RunDirectoryError`, `strategy.ClusterError`
    and an `OSError` writing a file (permission, read-only file system, no
    space, a regular file where a directory should be) are the user's to fix.
    """
    strategy = sys.modules.get("trainers.core.strategy")  # not loaded: no ClusterError
    if isinstance(error, (CommandError, run_directory.RunDirectoryError)) or (
            strategy is not None and isinstance(error, strategy.ClusterError)):
        # Without the "In call to configurable ..." lines gin appends.
        return "\n".join(line for line in str(error).splitlines()
                         if not line.strip().startswith("In call to configurable"))
    if (isinstance(error, FileExistsError) and error.filename
            and not os.path.isdir(error.filename)):
        return (f"{error.filename!r} is a regular file, not a directory. Pass a new "
                "directory path (--model_dir, --output_dir), or move the file.")
    if isinstance(error, OSError) and error.errno in _WRITE_ERRNOS:
        return (f"Cannot write {error.filename!r}: {error.strerror}. Pass an output "
                "directory you can write (--model_dir, --output_dir), or fix its "
                "permissions, free space or mount.")
    return None


def _verbose():
    return bool(flags.FLAGS.is_parsed() and "verbose" in flags.FLAGS and flags.FLAGS.verbose)


class _ErrorLine(app.ExceptionHandler):
    """absl exception handler: prints a user-fixable error as one `ERROR:` line
    and keeps the interpreter from printing its traceback (exit status 1)."""

    def wants(self, exc):
        return not _verbose() and error_message(exc) is not None

    def handle(self, exc):
        sys.stderr.write(f"ERROR: {error_message(exc)}\n")
        sys.stderr.flush()
        previous_hook = sys.excepthook

        def quiet_hook(exc_type, value, traceback):
            if value is not exc:
                previous_hook(exc_type, value, traceback)

        sys.excepthook = quiet_hook


_define_verbose_flag()
if not any(isinstance(h, _ErrorLine) for h in app.EXCEPTION_HANDLERS):
    app.install_exception_handler(_ErrorLine())


def run(entry):
    """absl entry point: `python -m trainers.<family> --gin_file ... --model_dir ...`."""
    define_flags()

    def main(argv):
        try:
            if len(argv) > 1:
                raise CommandError(
                    f"Unexpected arguments: {argv[1:]}. Pass settings as flags, e.g. "
                    "--gin_param 'train.epochs = 5'.")
            require_gin_files(flags.FLAGS.gin_file)
            if not flags.FLAGS.model_dir:
                check_model_dir(flags.FLAGS.model_dir)
            run_with_gin(entry, flags.FLAGS.model_dir, flags.FLAGS.gin_file,
                         flags.FLAGS.gin_param,
                         allow_config_change=flags.FLAGS.allow_config_change)
        except Exception as e:  # pylint: disable=broad-except
            message = error_message(e)
            if message is None or flags.FLAGS.verbose:
                raise
            sys.exit(f"ERROR: {message}")

    app.run(main)
