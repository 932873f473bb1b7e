"""DRPM-VC under tf.distribute: one device, 2 mirrored CPUs and 2 worker processes agree.

Each set-up runs in its own process (`trainers/vc_distributed_step.py`): the
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

from trainers import vc_distributed_step

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-5
STEPS = ["--steps", "3"]  # a short run: the losses after each step and the weights after it


def _env():
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TF_CONFIG", None)
    return env


def _run(strategy, *args):
    """Runs one set-up in a subprocess; returns (returncode, stderr, result or None)."""
    output = os.path.join(tempfile.mkdtemp(), "result.json")
    proc = subprocess.run(
        [sys.executable, "-m", "trainers.vc_distributed_step", "--strategy", strategy,
         "--output", output, *STEPS, *args],
        cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=300)
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


class VCDistributedStepTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        code, stderr, cls.single = _run("default")
        if code:
            raise AssertionError(f"The single-device run failed:\n{stderr[-3000:]}")

    def assertMatchesSingleDevice(self, result, num_replicas):
        self.assertEqual(result["num_replicas"], num_replicas)
        # The replicas hold the global batch's rows in order ...
        self.assertTrue(result["images_in_replica_order"])
        # ... and their columns make up the single device's partitions of it.
        self.assertAllEqual(result["partition"], self.single["partition"])
        self.assertEqual(np.shape(result["partition"]), (3, 3, 8))  # [L, K, n]
        self.assertSameElements(result["weights"], self.single["weights"])
        loss, weights = _max_differences(result, self.single)
        self.assertLessEqual(loss, TOLERANCE)
        self.assertLessEqual(weights, TOLERANCE)
        # The step changed the weights by far more than the tolerance.
        self.assertGreater(result["weight_change"], 1e3 * TOLERANCE)

    def test_single_device_gathers_nothing(self):
        self.assertEqual(self.single["num_replicas"], 1)
        self.assertEqual(self.single["gathered_bytes_per_step"], 0)
        self.assertLen(self.single["losses"]["loss"], 3)
        self.assertTrue(np.all(np.isfinite(list(self.single["losses"].values()))))

    def test_mirrored_two_cpus_match_one_device(self):
        code, stderr, result = _run("mirrored", "--num_cpus", "2")
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertMatchesSingleDevice(result, num_replicas=2)
        # 2 sizes and 8 nearest-prior indices (int32), 8 x 3 float64 responsibilities.
        self.assertEqual(result["gathered_bytes_per_step"], 4 * 2 + 4 * 8 + 8 * 8 * 3)

    def test_per_replica_partitions_are_another_model(self):
        # What the option fixes: partitions of 4 images per replica change the loss.
        code, stderr, result = _run("mirrored", "--num_cpus", "2", "--no_global_batch")
        self.assertEqual(code, 0, stderr[-3000:])
        loss, _ = _max_differences(result, self.single)
        self.assertGreater(loss, 1e3 * TOLERANCE)

    def test_global_batch_not_divisible_by_replicas_is_an_error(self):
        code, stderr, _ = _run("mirrored", "--num_cpus", "2", "--num_elements", "7")
        self.assertNotEqual(code, 0)
        self.assertIn("divides by the number of replicas (2)", stderr)

    def test_two_worker_processes_match_one_device(self):
        output = os.path.join(tempfile.mkdtemp(), "result.json")
        vc_distributed_step.run_workers(
            ["--output", output, *STEPS], num_workers=2, timeout=240, env=_env(),
            cwd=REPO_ROOT)
        with open(output) as f:
            result = json.load(f)
        self.assertEqual(result["strategy"], "multi_worker")
        self.assertMatchesSingleDevice(result, num_replicas=2)

    def test_a_missing_worker_fails_within_the_timeout(self):
        # A cluster of three workers of which two are started never forms:
        # each started worker stops by itself after `startup_timeout`, with an
        # error naming the cluster, well before the launcher's own timeout.
        start = time.perf_counter()
        with self.assertRaises(RuntimeError) as caught:
            vc_distributed_step.run_workers(
                ["--output", os.path.join(tempfile.mkdtemp(), "result.json"),
                 "--startup_timeout", "5"],
                num_workers=2, timeout=120, env=_env(), cwd=REPO_ROOT, missing_workers=1)
        message = str(caught.exception)
        self.assertIn("run failed", message)
        self.assertNotIn("timed out after", message)  # not stopped by the launcher
        self.assertIn("ClusterError: The multi-worker cluster did not form", message)
        self.assertIn("within startup_timeout=5.0 s", message)
        self.assertIn("Missing: worker 2 (127.0.0.1:", message)
        self.assertLess(time.perf_counter() - start, 100)


class ContrastiveDistributedStepTest(tf.test.TestCase):
    """The contrastive pretraining contrasts the global batch on any replica count."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        code, stderr, cls.single = _run("default", "--model", "contrastive")
        if code:
            raise AssertionError(f"The single-device run failed:\n{stderr[-3000:]}")

    def assertMatchesSingleDevice(self, result, num_replicas):
        self.assertEqual(result["num_replicas"], num_replicas)
        self.assertTrue(result["images_in_replica_order"])
        self.assertSameElements(result["weights"], self.single["weights"])
        loss, weights = _max_differences(result, self.single)
        self.assertLessEqual(loss, TOLERANCE)
        self.assertLessEqual(weights, TOLERANCE)
        self.assertGreater(result["weight_change"], 1e3 * TOLERANCE)
        # Both views' projections (2 floats) and cluster probabilities (3) of 8 images.
        self.assertEqual(result["gathered_bytes_per_step"], 8 * 8 * 2 * (2 + 3))

    def test_mirrored_two_cpus_match_one_device(self):
        code, stderr, result = _run("mirrored", "--num_cpus", "2", "--model", "contrastive")
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertMatchesSingleDevice(result, num_replicas=2)

    def test_per_replica_negatives_are_another_model(self):
        code, stderr, result = _run("mirrored", "--num_cpus", "2", "--model", "contrastive",
                                    "--no_global_batch")
        self.assertEqual(code, 0, stderr[-3000:])
        loss, _ = _max_differences(result, self.single)
        self.assertGreater(loss, 1e3 * TOLERANCE)

    def test_two_worker_processes_match_one_device(self):
        output = os.path.join(tempfile.mkdtemp(), "result.json")
        vc_distributed_step.run_workers(
            ["--output", output, "--model", "contrastive", *STEPS], num_workers=2,
            timeout=240, env=_env(), cwd=REPO_ROOT)
        with open(output) as f:
            self.assertMatchesSingleDevice(json.load(f), num_replicas=2)


if __name__ == "__main__":
    tf.test.main()
