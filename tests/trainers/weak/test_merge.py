"""Tests of trainers.weak.driver.merge_sweeps (python -m trainers.weak.merge)."""

import json
import os

import tensorflow as tf

from trainers.weak.driver import merge_sweeps
from trainers.weak.driver import write_sweep_summary


def _run(method, num_shared, seed, mse, estimate):
    return {"method": method, "num_shared_factors": num_shared, "seed": seed,
            "model_dir": f"{method}/ns{num_shared}_seed{seed}", "wall_time_s": 1.0,
            "results": {"num_shared_mse": mse, "mean_num_shared": estimate,
                        "shared_accuracy": 0.5, "independent_accuracy": 0.5}}


class MergeSweepsTest(tf.test.TestCase):

    def _sweep(self, name, runs, wall_time_s):
        path = os.path.join(self.get_temp_dir(), name)
        os.makedirs(path, exist_ok=True)
        write_sweep_summary(path, runs, wall_time_s)
        return path

    def test_merged_summary_equals_one_sweep_over_all_runs(self):
        first = [_run("label", 3, 0, 36.0, 9.0), _run("drpm", 3, 0, 1.0, 2.0),
                 _run("label", 3, 1, 36.0, 9.0), _run("drpm", 3, 1, 3.0, 4.0)]
        second = [_run("label", 3, 2, 25.0, 8.0), _run("drpm", 3, 2, 0.0, 3.0)]
        merged = merge_sweeps([self._sweep("a", first, 10.0), self._sweep("b", second, 5.0)],
                              os.path.join(self.get_temp_dir(), "merged"))
        # The order one sweep over seeds (0, 1, 2) writes: n_s, method, seed.
        every = [_run("label", 3, s, *v) for s, v in enumerate(
            [(36.0, 9.0), (36.0, 9.0), (25.0, 8.0)])] + [
            _run("drpm", 3, s, *v) for s, v in enumerate([(1.0, 2.0), (3.0, 4.0), (0.0, 3.0)])]
        whole = write_sweep_summary(os.path.join(self.get_temp_dir(), "whole"), every, 15.0)
        self.assertEqual(merged["runs"], whole["runs"])
        self.assertEqual(merged["aggregate"], whole["aggregate"])
        self.assertEqual(merged["table"], whole["table"])
        with open(os.path.join(self.get_temp_dir(), "merged", "results.json")) as f:
            stored = json.load(f)
        self.assertEqual(stored["wall_time_s"], 15.0)
        with open(os.path.join(self.get_temp_dir(), "merged", "results.md")) as f:
            text = f.read()
        self.assertIn("Seeds 0, 1, 2", text)
        self.assertIn("| DRPM-VAE | 1.333 ± 1.247 (3.000 ± 0.816) |", text)

    def test_a_run_in_two_sweeps_is_an_error(self):
        a = self._sweep("a", [_run("drpm", 3, 0, 1.0, 2.0)], 1.0)
        b = self._sweep("b", [_run("drpm", 3, 0, 1.0, 2.0)], 1.0)
        with self.assertRaisesRegex(ValueError, r"\('drpm', 3, 0\)"):
            merge_sweeps([a, b], os.path.join(self.get_temp_dir(), "merged"))

    def test_an_unfinished_sweep_is_an_error(self):
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty, exist_ok=True)
        with self.assertRaisesRegex(ValueError, "no results.json"):
            merge_sweeps([empty], os.path.join(self.get_temp_dir(), "merged"))


if __name__ == "__main__":
    tf.test.main()
