"""DRPM-VC under tf.distribute: one device, 2 mirrored CPUs and 2 worker processes agree.

Each set-up runs in its own process (`trainers/vc/distributed_step.py`): the
logical CPUs must be configured before TensorFlow runs an op, and a worker of
a `MultiWorkerMirroredStrategy` is a process. The runs use float64, so the
only differences left are the order of floating-point sums.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from tests import subprocess_result
from trainers.vc import distributed_step

REPO_ROOT = subprocess_result.REPO_ROOT
TOLERANCE = 1e-5
STEPS = ["--steps", "3"]  # a short run: the losses after each step and the weights after it


def _run(strategy, *args):
    """Runs one set-up in a subprocess; returns (returncode, stderr, result or None)."""
    output = os.path.join(tempfile.mkdtemp(), "result.json")
    proc = subprocess.run(
        [sys.executable, "-m", "trainers.vc.distributed_step", "--strategy", strategy,
         "--output", output, *STEPS, *args],
        cwd=REPO_ROOT, env=subprocess_result.subprocess_env(), capture_output=True, text=True,
        timeout=300)
    result = None
    if proc.returncode == 0:
        with open(output) as f:
            result = json.load(f)
    return proc.returncode, proc.stderr, result


def _max_differences(result, reference):
    """Max absolute differences of the losses and of the weights."""
    loss = max(float(np.max(np.abs(np.subtract(result["losses"][name], values))))
               for name, values in reference["losses"].items())
    weights = max(float(np.max(np.abs(np.subtract(result["weights"][path], values))))
                  for path, values in reference["weights"].items())
    return loss, weights


class _SingleDeviceReference(tf.test.TestCase):
    """Runs `--model MODEL` on one device once per class and compares other
    set-ups with it (subclasses hold the tests)."""

    MODEL = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        code, stderr, cls.single = _run("default", "--model", cls.MODEL)
        if code:
            raise AssertionError(f"The single-device run failed:\n{stderr[-3000:]}")

    def run_setup(self, strategy, *args):
        """The result of `strategy` (with `args`), which must succeed."""
        code, stderr, result = _run(strategy, "--model", self.MODEL, *args)
        self.assertEqual(code, 0, stderr[-3000:])
        return result

    def run_two_workers(self):
        """The chief's result of two worker processes on 127.0.0.1."""
        output = os.path.join(tempfile.mkdtemp(), "result.json")
        distributed_step.run_workers(
            ["--output", output, "--model", self.MODEL, *STEPS], num_workers=2, timeout=240,
            env=subprocess_result.subprocess_env(), cwd=REPO_ROOT)
        with open(output) as f:
            result = json.load(f)
        self.assertEqual(result["strategy"], "multi_worker")
        return result

    def assertMatchesSingleDevice(self, result, num_replicas):
        self.assertEqual(result["num_replicas"], num_replicas)
        # The replicas hold the global batch's rows in order.
        self.assertTrue(result["images_in_replica_order"])
        self.assertSameElements(result["weights"], self.single["weights"])
        loss, weights = _max_differences(result, self.single)
        self.assertLessEqual(loss, TOLERANCE)
        self.assertLessEqual(weights, TOLERANCE)
        # The step changed the weights by far more than the tolerance.
        self.assertGreater(result["weight_change"], 1e3 * TOLERANCE)


class VCDistributedStepTest(_SingleDeviceReference):

    MODEL = "drpm_vc"

    def assertMatchesSingleDevice(self, result, num_replicas):
        super().assertMatchesSingleDevice(result, num_replicas)
        # The replicas' columns make up the single device's partitions of the set.
        self.assertAllEqual(result["partition"], self.single["partition"])
        self.assertEqual(np.shape(result["partition"]), (3, 3, 8))  # [L, K, n]

    def test_single_device_gathers_nothing(self):
        self.assertEqual(self.single["num_replicas"], 1)
        self.assertEqual(self.single["gathered_bytes_per_step"], 0)
        self.assertLen(self.single["losses"]["loss"], 3)
        self.assertTrue(np.all(np.isfinite(list(self.single["losses"].values()))))

    def test_mirrored_two_cpus_match_one_device(self):
        result = self.run_setup("mirrored", "--num_cpus", "2")
        self.assertMatchesSingleDevice(result, num_replicas=2)
        # 2 sizes and 8 nearest-prior indices (int32), 8 x 3 float64 responsibilities.
        self.assertEqual(result["gathered_bytes_per_step"], 4 * 2 + 4 * 8 + 8 * 8 * 3)

    def test_per_replica_partitions_are_another_model(self):
        # What the option fixes: partitions of 4 images per replica change the loss.
        result = self.run_setup("mirrored", "--num_cpus", "2", "--no_global_batch")
        loss, _ = _max_differences(result, self.single)
        self.assertGreater(loss, 1e3 * TOLERANCE)

    def test_global_batch_not_divisible_by_replicas_is_an_error(self):
        code, stderr, _ = _run("mirrored", "--num_cpus", "2", "--num_elements", "7")
        self.assertNotEqual(code, 0)
        self.assertIn("divides by the number of replicas (2)", stderr)

    def test_two_worker_processes_match_one_device(self):
        self.assertMatchesSingleDevice(self.run_two_workers(), num_replicas=2)

    def test_a_missing_worker_fails_within_the_timeout(self):
        # A cluster of three workers of which two are started never forms:
        # each started worker stops by itself after `startup_timeout`, with an
        # error naming the cluster, well before the launcher's own timeout.
        start = time.perf_counter()
        with self.assertRaises(RuntimeError) as caught:
            distributed_step.run_workers(
                ["--output", os.path.join(tempfile.mkdtemp(), "result.json"),
                 "--startup_timeout", "5"],
                num_workers=2, timeout=120, env=subprocess_result.subprocess_env(), cwd=REPO_ROOT,
                missing_workers=1)
        message = str(caught.exception)
        self.assertIn("run failed", message)
        self.assertNotIn("timed out after", message)  # not stopped by the launcher
        self.assertIn("ClusterError: The multi-worker cluster did not form", message)
        self.assertIn("within startup_timeout=5.0 s", message)
        self.assertIn("Missing: worker 2 (127.0.0.1:", message)
        self.assertLess(time.perf_counter() - start, 100)


class ContrastiveDistributedStepTest(_SingleDeviceReference):
    """The contrastive pretraining contrasts the global batch on any replica count."""

    MODEL = "contrastive"

    def assertMatchesSingleDevice(self, result, num_replicas):
        super().assertMatchesSingleDevice(result, num_replicas)
        # Both views' projections (2 floats) and cluster probabilities (3) of 8 images.
        self.assertEqual(result["gathered_bytes_per_step"], 8 * 8 * 2 * (2 + 3))

    def test_mirrored_two_cpus_match_one_device(self):
        self.assertMatchesSingleDevice(self.run_setup("mirrored", "--num_cpus", "2"),
                                       num_replicas=2)

    def test_per_replica_negatives_are_another_model(self):
        result = self.run_setup("mirrored", "--num_cpus", "2", "--no_global_batch")
        loss, _ = _max_differences(result, self.single)
        self.assertGreater(loss, 1e3 * TOLERANCE)

    def test_two_worker_processes_match_one_device(self):
        self.assertMatchesSingleDevice(self.run_two_workers(), num_replicas=2)


if __name__ == "__main__":
    tf.test.main()
