"""Kill-and-resume check shared by the trainer tests of every family.

A run is killed with SIGKILL right after it commits epoch `k` (a real
`kill -9` at a known point: `tests.trainers.fault_injection`, bound through
gin), the same command is run again, and the resumed run directory must match
an uninterrupted run's: the per-epoch log (minus wall times), the final
weights (model and optimizer, bit for bit) and the evaluation results.
"""

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np

from tests import subprocess_result
from tests.trainers import fault_injection
from trainers.core import training

REPO_ROOT = subprocess_result.REPO_ROOT


def run_family(module, model_dir, gin_files, gin_params=(), timeout=600):
    """Runs `python -m trainers.<module>` in a subprocess; returns the CompletedProcess."""
    command = [sys.executable, "-m", f"trainers.{module}", "--model_dir", model_dir]
    for gin_file in gin_files:
        command += ["--gin_file", gin_file]
    for param in gin_params:
        command += ["--gin_param", param]
    return subprocess.run(command, cwd=REPO_ROOT, env=subprocess_result.subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def epoch_log(run_dir):
    """`epochs.jsonl` without the wall times."""
    with open(os.path.join(run_dir, training.EPOCH_LOG_FILE)) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for record in records:
        record.pop("time")
    return records


def final_weights(run_dir):
    """Every array of the newest checkpoint, by its path in the weights file."""
    state = training.read_checkpoint_state(run_dir)
    arrays = {}
    with h5py.File(os.path.join(run_dir, training.CHECKPOINT_SUBDIR, state["weights"])) as f:
        f.visititems(lambda name, item: arrays.__setitem__(name, np.asarray(item))
                     if isinstance(item, h5py.Dataset) else None)
    return arrays


def check_kill_and_resume(test, module, gin_files, gin_params, run_subdir, kill_after_epoch,
                          epochs):
    """Kills a run after `kill_after_epoch`, resumes it and compares it with an uninterrupted run.

    Args:
        test: the `tf.test.TestCase`.
        module: the family module name (`trainers.<module>`).
        gin_files, gin_params: the run's config.
        run_subdir: the trained run's directory inside `--model_dir` ("" for the
            model_dir itself, e.g. "drpm_vc" for DRPM-VC's run).
        kill_after_epoch: the epoch after whose commit the run is killed.
        epochs: the run's total number of epochs.
    """
    base = test.get_temp_dir()
    killed_dir = os.path.join(base, f"{module}_killed")
    reference_dir = os.path.join(base, f"{module}_reference")
    # The killed and the resumed run are the same command (the marker file
    # disarms the fault in the second).
    killed_params = list(gin_params) + fault_injection.fault_params(
        os.path.join(base, f"{module}_fault.pid"), epoch=kill_after_epoch)
    killed = run_family(module, killed_dir, gin_files, killed_params)
    test.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr[-3000:])
    killed_run = os.path.join(killed_dir, run_subdir)
    test.assertEqual(training.read_checkpoint_state(killed_run)["epoch"], kill_after_epoch)
    test.assertFalse(os.path.exists(os.path.join(killed_run, "results.json")))

    resumed = run_family(module, killed_dir, gin_files, killed_params)
    test.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
    reference = run_family(module, reference_dir, gin_files, gin_params)
    test.assertEqual(reference.returncode, 0, reference.stderr[-3000:])

    reference_run = os.path.join(reference_dir, run_subdir)
    with open(os.path.join(killed_run, "results.json")) as f:
        resumed_summary = json.load(f)
    with open(os.path.join(reference_run, "results.json")) as f:
        reference_summary = json.load(f)
    test.assertEqual(resumed_summary["initial_epoch"], kill_after_epoch)
    test.assertEqual(reference_summary["initial_epoch"], 0)
    log = epoch_log(killed_run)
    test.assertEqual([r["epoch"] for r in log], list(range(1, epochs + 1)))
    test.assertEqual(log, epoch_log(reference_run))
    resumed_weights, reference_weights = final_weights(killed_run), final_weights(reference_run)
    test.assertEqual(sorted(resumed_weights), sorted(reference_weights))
    for name, value in reference_weights.items():
        test.assertAllEqual(resumed_weights[name], value, msg=name)
    test.assertEqual(resumed_summary["results"], reference_summary["results"])
