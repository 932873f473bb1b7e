"""Runs `trainers.core.distributed_step` under each strategy and compares the runs.

Shared by the weak and multitask distributed tests: one device (the default
strategy), `MirroredStrategy` over two logical CPUs (each in a fresh process)
and `MultiWorkerMirroredStrategy` with two worker processes on 127.0.0.1.
"""

import os

import numpy as np
import tensorflow as tf

from tests import subprocess_result
from trainers.core import distributed_step
from trainers.core.workers import run_workers

__all__ = ["DistributedStepTestCase", "assert_same_runs", "run_step", "run_two_workers"]

_SCRIPT = """
import json, sys
from trainers.core import distributed_step
distributed_step.main(sys.argv[1:])
print("RESULT" + json.dumps({"output": sys.argv[sys.argv.index("--output") + 1]}))
"""


def _argv(family, methods, dtype, gin_params):
    argv = ["--family", family, "--methods", ",".join(methods), "--dtype", dtype]
    for param in gin_params:
        argv += ["--gin_param", param]
    return argv


def run_step(test, family, strategy, methods, dtype="float32", gin_params=()):
    """Runs the methods in one fresh process under `strategy` ('default' or
    'mirrored' over two logical CPUs); returns `{method: result}`."""
    output = os.path.join(test.get_temp_dir(), f"{family}_{strategy}_{dtype}_{'_'.join(methods)}.npz")
    argv = _argv(family, methods, dtype, gin_params) + [
        "--strategy", strategy, "--num_cpus", "2", "--output", output,
        "--model_dir", output + ".runs"]
    out = subprocess_result.run_result_script(test, _SCRIPT, *argv)
    return distributed_step.load_result(out["output"])


def run_two_workers(test, family, methods, dtype="float32", gin_params=(), timeout=240):
    """Runs the methods on two worker processes (`MultiWorkerMirroredStrategy`);
    returns the chief's `{method: result}` and the wall time in seconds."""
    output = os.path.join(test.get_temp_dir(), f"{family}_workers_{dtype}_{'_'.join(methods)}.npz")
    argv = _argv(family, methods, dtype, gin_params) + [
        "--strategy", "multi_worker", "--output", output, "--model_dir", output + ".runs"]
    seconds = run_workers(
        argv, num_workers=2, timeout=timeout, env=subprocess_result.subprocess_env(),
        cwd=subprocess_result.REPO_ROOT, module="trainers.core.distributed_step")
    return distributed_step.load_result(output), seconds


def assert_same_runs(test, expected, actual, num_replicas, rtol=1e-5, atol=1e-5):
    """Asserts that `actual` (on `num_replicas`) took the steps of `expected`
    (one device): every step's logs, the weights and optimizer variables after
    the first step and after the run, to `rtol`/`atol`."""
    test.assertEqual(sorted(actual), sorted(expected))
    for method, reference in expected.items():
        run = actual[method]
        test.assertEqual(reference["summary"]["num_replicas"], 1)
        test.assertEqual(run["summary"]["num_replicas"], num_replicas)
        test.assertEqual(run["summary"]["step"], reference["summary"]["step"])
        test.assertLen(run["step_logs"], len(reference["step_logs"]))
        test.assertNotEmpty(reference["step_logs"])
        for step, (want, got) in enumerate(zip(reference["step_logs"], run["step_logs"])):
            test.assertEqual(sorted(got), sorted(want))
            for name in want:
                test.assertAllClose(got[name], want[name], rtol=rtol, atol=atol,
                                    msg=f"{method}: `{name}` after step {step + 1}")
        for which in ("first_step_weights", "weights"):
            test.assertEqual(sorted(run[which]), sorted(reference[which]))
            for path, value in reference[which].items():
                test.assertAllClose(run[which][path], value, rtol=rtol, atol=atol,
                                    msg=f"{method}: {path} ({which})")
        # The runs did train (the comparison is not between initial weights).
        changed = max(float(np.max(np.abs(reference["weights"][p] - reference["first_step_weights"][p])))
                      for p in reference["weights"] if reference["weights"][p].size)
        test.assertGreater(changed, 0.0)


class DistributedStepTestCase(tf.test.TestCase):
    """One device vs 2 mirrored CPUs vs 2 worker processes for `METHODS`.

    Subclasses set `FAMILY`, `METHODS` and optionally `DTYPE` and
    `GIN_PARAMS`, and inherit the two tests. The one-device run is made once
    per class (by the first test that needs it), so the two-worker test's own
    time is the cluster's. Test modules refer to this class as
    `distributed_step_util.DistributedStepTestCase`, so that pytest does not
    collect it (it has no family).
    """

    FAMILY = None
    METHODS = ()
    DTYPE = "float32"
    GIN_PARAMS = ()

    def one_device(self):
        cls = type(self)
        if cls.__dict__.get("_one_device") is None:
            cls._one_device = run_step(self, self.FAMILY, "default", self.METHODS,
                                       self.DTYPE, self.GIN_PARAMS)
        return cls._one_device

    def test_mirrored_two_cpus_match_one_device(self):
        mirrored = run_step(self, self.FAMILY, "mirrored", self.METHODS, self.DTYPE,
                            self.GIN_PARAMS)
        assert_same_runs(self, self.one_device(), mirrored, num_replicas=2)

    def test_two_workers_match_one_device(self):
        reference = self.one_device()
        workers, _ = run_two_workers(self, self.FAMILY, self.METHODS, self.DTYPE,
                                     self.GIN_PARAMS)
        assert_same_runs(self, reference, workers, num_replicas=2)
