"""Atomic run-directory files shared by the trainers: JSON, text, figures, tables.

Every writer here writes to `run_directory.output_path(path)`: the path itself,
or on a non-chief worker of a cluster the same path under its temporary
directory.
"""

import json
import math
import os

import numpy as np

from trainers.core import run_directory

__all__ = ["format_markdown_table", "merge_sweep_runs", "read_sweeps", "save_figure",
           "to_python", "write_json", "write_text"]


def to_python(value):
    """Converts tensors / numpy scalars / nested structures to JSON types."""
    if isinstance(value, dict):
        return {str(k): to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
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
    path = run_directory.output_path(path)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(to_python(obj), f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text(path, text):
    """Writes `text` to `path` atomically (temporary file + rename)."""
    path = run_directory.output_path(path)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_sweeps(sweep_dirs, file_names):
    """The named JSON files of finished sweep directories.

    Args:
        sweep_dirs: directories, each holding every file of `file_names`.
        file_names: JSON file names, e.g. `("sweep.json", "trajectories.json")`.

    Returns:
        A list of `(sweep_dir, [loaded JSON, one per file name])`.

    Raises:
        ValueError: naming the directory and the files it lacks.
    """
    sweeps = []
    for sweep_dir in sweep_dirs:
        paths = [os.path.join(sweep_dir, name) for name in file_names]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            names = ", ".join(os.path.basename(p) for p in missing)
            raise ValueError(f"`sweep_dirs` must hold finished sweeps: no {names} in "
                             f"{sweep_dir!r} (missing {missing}).")
        loaded = []
        for path in paths:
            with open(path) as f:
                loaded.append(json.load(f))
        sweeps.append((sweep_dir, loaded))
    return sweeps


def merge_sweep_runs(sweep_runs, key_names):
    """Concatenates the runs of several sweeps, each run once.

    Args:
        sweep_runs: iterable of `(sweep_dir, runs)`, `runs` a list of dicts.
        key_names: the keys that name a run, e.g. `("method", "seed")`.

    Returns:
        The runs, in the order given.

    Raises:
        ValueError: if two sweeps hold a run with the same key.
    """
    merged, owner = [], {}
    for sweep_dir, runs in sweep_runs:
        for run in runs:
            key = tuple(run[name] for name in key_names)
            if key in owner:
                raise ValueError(
                    f"Run ({', '.join(key_names)}) = {key} is in both {owner[key]!r} and "
                    f"{sweep_dir!r}; merge each run once.")
            owner[key] = sweep_dir
            merged.append(run)
    return merged


def save_figure(fig, path, **kwargs):
    """Saves a matplotlib figure to `path` (`fig.savefig(path, **kwargs)`)."""
    fig.savefig(run_directory.output_path(path), **kwargs)


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
        value = to_python(value)
        if isinstance(value, float):
            return f"{value:.{precision}f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join([row_header] + columns) + " |",
             "|" + "|".join(["---"] * (len(columns) + 1)) + "|"]
    for name, row in results.items():
        lines.append("| " + " | ".join([str(name)] + [fmt(row.get(c)) for c in columns]) + " |")
    return "\n".join(lines) + "\n"
