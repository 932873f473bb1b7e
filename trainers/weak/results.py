"""The weak family's results: disentanglement_lib's results layout and the table."""

import json
import os
import re
import uuid

import gin
import numpy as np

from trainers.core import run_directory
from trainers.core import run_files
from trainers.core import training

__all__ = [
    "METHOD_NAMES",
    "format_paper_tables",
    "format_weak_table",
    "summarize_runs",
    "update_result_directory",
]

METHOD_NAMES = {
    "label": "Label-VAE",
    "adaptive": "Ada-VAE",
    "hg": "HG-VAE",
    "drpm": "DRPM-VAE",
}
SCALAR_METRICS = ("num_shared_mse", "mean_num_shared", "shared_accuracy",
                   "independent_accuracy")
DIAGNOSTIC_METRICS = ("num_low_kl_mean", "num_low_kl_active_mean",
                       "num_active_dims", "size_logit_gap_mean")
_TABLE_METRICS = ("num_shared_mse", "mean_num_shared", "num_low_kl_mean",
                  "shared_accuracy", "independent_accuracy")
# disentanglement_lib's headline scores: (results key, table column).
_DLIB_COLUMNS = (
    ("mig.discrete_mig", "MIG"),
    ("dci.disentanglement", "DCI D"),
    ("sap_score.SAP_score", "SAP"),
    ("modularity_explicitness.modularity_score", "Mod"),
    ("modularity_explicitness.explicitness_score_test", "Expl"),
    ("beta_vae_sklearn.eval_accuracy", "BetaVAE"),
    ("factor_vae_metric.eval_accuracy", "FactorVAE"),
    ("irs.IRS", "IRS"),
)



def _gin_dict():
    """The operative gin bindings as `{"scope/name.param": "value"}` strings."""
    result = {}
    for line in gin.operative_config_str().splitlines():
        match = re.match(r"^([\w./]+)\s*=\s*(.*)$", line.strip())
        if match:
            result[match.group(1)] = match.group(2)
    return result


def update_result_directory(result_directory, step_name, results_dict):
    """Writes a step's results the way disentanglement_lib's `results.py` does.

    Files: `gin/<step>.gin` (operative config), `json/<step>_config.json`
    (its bindings), `json/<step>_results.json` (the results plus a `uuid`)
    and `aggregate/<step>.json` (every `json/*.json` merged, keys prefixed by
    the file name: `train_results.loss`, `evaluation_config.weak_dataset.name`).
    """
    results = dict(results_dict, uuid=str(uuid.uuid4()))
    for sub in ("gin", "json", "aggregate"):
        os.makedirs(run_directory.output_path(os.path.join(result_directory, sub)),
                    exist_ok=True)
    run_files.write_text(os.path.join(result_directory, "gin", f"{step_name}.gin"),
                         gin.operative_config_str())
    json_dir = os.path.join(result_directory, "json")
    training.write_json(os.path.join(json_dir, f"{step_name}_config.json"),
                        _gin_dict())
    training.write_json(os.path.join(json_dir, f"{step_name}_results.json"), results)
    aggregate = {}
    written = run_directory.output_path(json_dir)  # this process's own files
    for name in sorted(os.listdir(written)):
        if name.endswith(".json"):
            with open(os.path.join(written, name)) as f:
                for key, value in json.load(f).items():
                    aggregate[f"{name[:-len('.json')]}.{key}"] = value
    training.write_json(
        os.path.join(result_directory, "aggregate", f"{step_name}.json"), aggregate)


def _stats(values):
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None
    return float(values.mean()), float(values.std())


def summarize_runs(runs):
    """Mean and standard deviation over seeds per (method, n_s).

    The keys are our `_TABLE_METRICS` and the disentanglement_lib headline
    scores (`mig.discrete_mig`, ...) that some run has or failed to compute.
    `row["notes"]` maps a headline key to the remarks of its runs: a failed
    metric (`"seed 0: failed (IndexError: ...)"`) or a score that is
    disentanglement_lib's convention (`"seed 0: 0 by ... convention: ..."`).
    """
    keys = list(_TABLE_METRICS) + [
        key for key, _ in _DLIB_COLUMNS
        if any(key in run["results"] or _metric(key) + ".failed" in run["results"]
               for run in runs)]
    groups = {}
    for run in runs:
        groups.setdefault((run["method"], run["num_shared_factors"]), []).append(run)
    summary = []
    for (method, num_shared), group in groups.items():
        row = {"method": method, "num_shared_factors": num_shared,
               "seeds": [r["seed"] for r in group], "notes": {}}
        for key in keys:
            row[key], row[key + "_std"] = _stats(
                [_number(r["results"].get(key)) for r in group])
            notes = _notes(key, group)
            if notes:
                row["notes"][key] = notes
        summary.append(row)
    return summary


def _metric(key):
    return key.split(".", 1)[0]


def _notes(key, group):
    """The remarks of `group`'s runs on the headline score `key`."""
    metric, notes = _metric(key), []
    headline = next(k for k, _ in _DLIB_COLUMNS if _metric(k) == metric) if any(
        _metric(k) == metric for k, _ in _DLIB_COLUMNS) else None
    for run in group:
        results = run["results"]
        if metric + ".failed" in results:
            notes.append(f"seed {run['seed']}: failed ({results[metric + '.failed']})")
        elif metric + ".note" in results and key == headline:
            notes.append(f"seed {run['seed']}: {results[metric + '.note']}")
    return notes


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def format_weak_table(summary):
    """Markdown table: one row per method; per n_s the MSE of n_s, n_s_hat, the
    dims whose pairwise KL is below the diagnostics threshold, S and I.

    Then, per n_s, the disentanglement_lib scores of `_DLIB_COLUMNS` that the
    summary holds (MIG, DCI D = DCI disentanglement, SAP, Mod / Expl =
    modularity / test explicitness, BetaVAE, FactorVAE, IRS). A metric that
    failed for every seed shows `failed`; a cell with remarks (a failure, a
    score that is disentanglement_lib's convention) gets a footnote `[k]`,
    listed under the table.
    """
    num_shared_values = sorted({row["num_shared_factors"] for row in summary})
    methods = [m for m in METHOD_NAMES if any(r["method"] == m for r in summary)]
    dlib_columns = [(key, name) for key, name in _DLIB_COLUMNS
                    if any(row.get(key) is not None or key in row.get("notes", {})
                           for row in summary)]
    keys = list(_TABLE_METRICS) + [key for key, _ in dlib_columns]
    names = dict(dlib_columns)
    header = ["method"]
    for n in num_shared_values:
        header += [f"MSE(n_s) n_s={n}", f"mean n_s_hat n_s={n}",
                   f"dims KL<0.05 n_s={n}", f"S acc n_s={n}", f"I acc n_s={n}"]
        header += [f"{name} n_s={n}" for _, name in dlib_columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * len(header)) + "|"]
    footnotes = {}  # text -> number

    def cell(row, key):
        mean, std = row.get(key), row.get(key + "_std")
        notes = row.get("notes", {}).get(key)
        if mean is None:
            text = "failed" if notes else "n/a"
        elif len(row["seeds"]) > 1:
            text = f"{mean:.3f} ± {std:.3f}"
        else:
            text = f"{mean:.3f}"
        if notes:
            note = (f"{METHOD_NAMES[row['method']]}, {names.get(key, key)} "
                    f"n_s={row['num_shared_factors']}: " + "; ".join(notes))
            note = note.replace("|", "\\|")
            text += f" [{footnotes.setdefault(note, len(footnotes) + 1)}]"
        return text

    for method in methods:
        cells = [METHOD_NAMES[method]]
        for n in num_shared_values:
            row = next((r for r in summary if r["method"] == method
                        and r["num_shared_factors"] == n), None)
            if row is None:
                cells += [""] * len(keys)
            else:
                cells += [cell(row, k) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    if footnotes:
        lines.append("")
        lines += [f"[{number}] {text}" for text, number in footnotes.items()]
    return "\n".join(lines) + "\n"


def format_paper_tables(summary):
    """The paper's Figure 3 and Table 2 as two compact markdown tables.

    One row per method, one column per n_s; cells are means over the seeds
    with their standard deviation when there are several:

    * Figure 3 analogue: `MSE(n_s_hat, n_s) (mean n_s_hat)`.
    * Table 2 analogue: `S acc / I acc`, the accuracies of predicting the
      shared and the independent factors from the dims marked shared and
      independent (`-` where a run has none to predict, as S at n_s = 0).
    """
    num_shared_values = sorted({row["num_shared_factors"] for row in summary})
    methods = [m for m in METHOD_NAMES if any(r["method"] == m for r in summary)]

    def value(row, key):
        mean = row.get(key)
        if mean is None:
            return "-"
        if len(row["seeds"]) > 1 and row.get(key + "_std") is not None:
            return f"{mean:.3f} ± {row[key + '_std']:.3f}"
        return f"{mean:.3f}"

    def table(title, cell):
        header = ["method"] + [f"n_s = {n}" for n in num_shared_values]
        lines = [f"{title}", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] * len(header)) + "|"]
        for method in methods:
            cells = [METHOD_NAMES[method]]
            for n in num_shared_values:
                row = next((r for r in summary if r["method"] == method
                            and r["num_shared_factors"] == n), None)
                cells.append("" if row is None else cell(row))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    seeds = sorted({s for row in summary for s in row["seeds"]})
    note = f"Seeds {', '.join(map(str, seeds))}; mean ± standard deviation over seeds."
    figure = table(
        "Figure 3 analogue: MSE(n_s_hat, n_s) (mean n_s_hat). " + note,
        lambda row: f"{value(row, 'num_shared_mse')} ({value(row, 'mean_num_shared')})")
    accuracies = table(
        "Table 2 analogue: S acc / I acc. " + note,
        lambda row: (f"{value(row, 'shared_accuracy')} / "
                     f"{value(row, 'independent_accuracy')}"))
    return figure + "\n" + accuracies
