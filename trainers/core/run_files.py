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

__all__ = ["format_markdown_table", "save_figure", "to_python", "write_json", "write_text"]


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
