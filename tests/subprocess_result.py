"""Runs a Python script in a fresh process and reads its `RESULT<json>` line.

Tests that need logical CPU devices or a strategy set before any TF op run
their case in a subprocess that prints one line `RESULT` + JSON.
"""

import json
import os
import subprocess
import sys

__all__ = ["REPO_ROOT", "run_result_script", "subprocess_env"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subprocess_env():
    """`os.environ` with quiet TF logs, the checkout first on `PYTHONPATH` and
    no `TF_CONFIG` (a test sets the cluster of its own workers)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TF_CONFIG", None)
    return env


def run_result_script(test, script, *args, timeout=300):
    """Runs `python -c script *args` from the checkout; returns its last RESULT.

    Fails `test` with the end of stderr when the process exits non-zero.
    """
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT,
                          env=subprocess_env(), capture_output=True, text=True,
                          timeout=timeout)
    test.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])
