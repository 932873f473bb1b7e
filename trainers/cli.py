"""Thin absl command line shared by every family's entry point.

A family module ends with

    if __name__ == "__main__":
        cli.run(training.train)   # or the family's own gin-configurable entry

and is run as

    python -m trainers.<family> --gin_file gin/<family>/<cfg>.gin \
        --gin_param 'train.epochs = 5' --model_dir runs/x

`--gin_file` and `--gin_param` repeat (gin's own flag names); files are
searched in the current directory and the repository root, so `include`
statements may use repository-relative paths. The entry is called as
`entry(model_dir=...)`; gin's config is cleared afterwards.
"""

import os

from absl import app
from absl import flags
import gin

__all__ = ["define_flags", "parse_gin", "run", "run_with_gin"]

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def define_flags():
    """Defines --gin_file, --gin_param and --model_dir (idempotent)."""
    if "gin_file" in flags.FLAGS:
        return
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s), applied in order.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings, e.g. 'train.epochs = 5'.")
    flags.DEFINE_string("model_dir", None, "Run directory (created; reused to resume).")


def parse_gin(gin_files=(), gin_params=(), finalize=True):
    """Parses gin files and bindings (registering the external configurables)."""
    from trainers import gin_registry  # noqa: F401  pylint: disable=g-import-not-at-top
    for path in (os.getcwd(), _REPO_ROOT):
        gin.add_config_file_search_path(path)
    gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                        finalize_config=finalize)


def run_with_gin(entry, model_dir, gin_files=(), gin_params=()):
    """Parses gin, calls `entry(model_dir=model_dir)` and clears gin's config.

    Usable from tests and notebooks without absl flags.
    """
    try:
        parse_gin(gin_files, gin_params, finalize=False)
        return entry(model_dir=model_dir)
    finally:
        gin.clear_config()


def run(entry):
    """absl entry point: `python -m trainers.<family> --gin_file ... --model_dir ...`."""
    define_flags()

    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
        model_dir = flags.FLAGS.model_dir
        if not model_dir:
            raise app.UsageError("--model_dir is required. Received: --model_dir=None")
        run_with_gin(entry, model_dir, flags.FLAGS.gin_file, flags.FLAGS.gin_param)

    app.run(main)
