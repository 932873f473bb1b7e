"""Smoke tests of the multitask family (trainers/mtl/) on generated data."""

import json
import os

from absl.testing import parameterized
import gin
import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tests.trainers import resume_util
from trainers.core import cli
from trainers.core import training
from trainers.mtl import allocation
from trainers.mtl import driver
from trainers.mtl import sweep

REPO_ROOT = subprocess_result.REPO_ROOT
MTL_GIN = os.path.join(REPO_ROOT, "gin", "tests", "mtl_smoke.gin")


class MtlSmokeTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(("drpm", "drpm"), ("uls", "uls"))
    def test_smoke_run(self, method):
        model_dir = os.path.join(self.get_temp_dir(), method)
        params = [f"mtl_model.method = '{method}'", "train.deterministic = False",
                  f"mtl_data.cache_dir = '{os.path.join(self.get_temp_dir(), 'cache')}'"]
        if method == "drpm":
            # One epoch, then resume to the configured two epochs.
            first = cli.run_with_gin(training.train, model_dir, [MTL_GIN],
                                     params + ["train.epochs = 1"])
            self.assertLen(first.history, 1)
        # The epoch count changed since the first run: allowed explicitly.
        result = cli.run_with_gin(training.train, model_dir, [MTL_GIN], params,
                                  allow_config_change=method == "drpm")
        with self.assertRaises(ValueError):
            gin.query_parameter("train.epochs")  # gin cleared after the run
        self.assertEqual(result.initial_epoch, 1 if method == "drpm" else 0)
        self.assertLen(result.history, 2)
        self.assertEqual([r["step"] for r in result.history], [2, 4])
        results = result.results
        self.assertIn(results["best_epoch"], (1, 2))  # 1-based epoch numbers
        for key in ("left_accuracy", "right_accuracy", "mean_accuracy"):
            self.assertBetween(results[key], 0.0, 1.0)
        self.assertAllClose(
            results["mean_accuracy"],
            0.5 * (results["left_accuracy"] + results["right_accuracy"]))
        best = result.history[results["best_epoch"] - 1]["logs"]["val_mean_accuracy"]
        self.assertEqual(
            best, max(r["logs"]["val_mean_accuracy"] for r in result.history))
        if method == "drpm":
            self.assertAllClose(results["left_size"] + results["right_size"], 50.0)
            # The schedule reached the final temperature after 2 decay steps.
            self.assertAllClose(result.model.temperature, 0.5)
        else:
            self.assertNotIn("left_size", results)
        with open(os.path.join(model_dir, "results.json")) as f:
            self.assertEqual(json.load(f)["results"]["best_epoch"], results["best_epoch"])

    def test_size_gradient_probe_logs_without_changing_the_run(self):
        cache = os.path.join(self.get_temp_dir(), "cache")
        params = [f"mtl_data.cache_dir = '{cache}'"]
        plain = cli.run_with_gin(training.train, os.path.join(self.get_temp_dir(), "plain"),
                                 [MTL_GIN], params)
        probed = cli.run_with_gin(
            training.train, os.path.join(self.get_temp_dir(), "probed"), [MTL_GIN],
            params + ["mtl_callbacks.size_gradient_examples = 8"])
        for a, b in zip(plain.history, probed.history):
            for key, value in a["logs"].items():
                self.assertEqual(value, b["logs"][key], key)
            grads = {k: v for k, v in b["logs"].items() if k.startswith("size_gradient/")}
            self.assertLen(grads, 6)
            self.assertAllClose(grads["size_gradient/left_loss/left"],
                                -grads["size_gradient/left_loss/right"])
        with self.assertRaisesRegex(ValueError, "Received: size_gradient_examples=-1"):
            driver.mtl_callbacks(None, size_gradient_examples=-1)

    def test_best_epoch_results(self):
        history = [
            {"epoch": 1, "logs": {"val_mean_accuracy": 0.3, "val_left_size": 20.0}},
            {"epoch": 2, "logs": {"val_mean_accuracy": 0.6, "val_left_size": 30.0,
                                  "loss": 1.0}},
            {"epoch": 3, "logs": {"val_mean_accuracy": 0.6, "val_left_size": 40.0}},
        ]
        # The first epoch with the best mean accuracy wins.
        self.assertEqual(
            driver.best_epoch_results(history),
            {"best_epoch": 2, "mean_accuracy": 0.6, "left_size": 30.0})
        self.assertEqual(driver.best_epoch_results([{"epoch": 1, "logs": {}}]), {})

    @parameterized.named_parameters(
        ("multi_fashion", "multi_fashion.gin", "drpm", 2),
        ("multi_mnist", "multi_mnist.gin", "drpm", 2),
        ("celeba", "celeba.gin", "drpm", 10),
    )
    def test_paper_configs_parse_and_build(self, config, method, num_tasks):
        try:
            cli.parse_gin([os.path.join(REPO_ROOT, "gin", "mtl", config)], [],
                          finalize=False)
            self.assertEqual(gin.query_parameter("mtl_model.method"), method)
            self.assertEqual(gin.query_parameter("mtl_data.batch_size"),
                             256 if "multi" in config else 128)
            model = driver.mtl_model()
        finally:
            gin.clear_config()
        self.assertEqual(model.num_tasks, num_tasks)
        if config == "celeba.gin":
            self.assertEqual(model.task_names[0], "5_o_Clock_Shadow")
            self.assertEqual(model.regularization_weight, 0.015)
            self.assertIsNone(model.partition_encoder)
        else:
            self.assertEqual(model.task_names, ["left", "right"])
            self.assertIsNotNone(model.partition_encoder)
        self.assertFalse(model.partition.hard_permutation)

    def test_hard_permutation_reaches_the_partition_layer(self):
        model = driver.mtl_model(hard_permutation=True)
        self.assertTrue(model.partition.hard_permutation)
        masks = model(np.zeros((3, 28, 28, 1), np.float32))["masks"].numpy()
        # Exact partition masks: every neuron in exactly one task.
        self.assertAllEqual(masks.sum(axis=1), np.ones((3, 50)))

    def test_frozen_sizes_run_keeps_its_sizes(self):
        model_dir = os.path.join(self.get_temp_dir(), "frozen")
        params = ["mtl_model.method = 'drpm'", "mtl_model.fixed_sizes = (35, 15)",
                  "train.deterministic = False",
                  f"mtl_data.cache_dir = '{os.path.join(self.get_temp_dir(), 'cache')}'"]
        result = cli.run_with_gin(training.train, model_dir, [MTL_GIN], params)
        self.assertEqual(result.model.partition.fixed_sizes, (35, 15))
        for record in result.history:
            self.assertEqual(record["logs"]["left_size"], 35.0)
            self.assertEqual(record["logs"]["right_size"], 15.0)
            self.assertEqual(record["logs"]["val_right_size"], 15.0)
        self.assertEqual((result.results["left_size"], result.results["right_size"]),
                         (35.0, 15.0))

    def test_allocation_verdict(self):
        def setting(split, left_size, accuracy):
            return {"fixed_sizes": split, "aggregate": [{
                "noise_ratio": 0.6, "left_size_mean": left_size,
                "right_size_mean": 50.0 - left_size, "mean_accuracy_mean": accuracy,
                "mean_accuracy_std": 0.0}]}

        settings = {f"fixed_{a}": setting([a, 50 - a], a, acc) for a, acc in
                    ((40, 0.70), (35, 0.72), (25, 0.71), (15, 0.65), (10, 0.60))}
        settings["learnt"] = setting(None, 28.0, 0.715)
        settings["far"] = setting(None, 12.0, 0.6)
        good = allocation.verdict(settings, 0.6, "learnt")
        self.assertEqual(good["best_split"], [35, 15])
        self.assertTrue(good["within_one_step"])  # 28 lies in [25, 40]
        self.assertFalse(allocation.verdict(settings, 0.6, "far")["within_one_step"])

    def test_allocation_run_writes_table_and_plot(self):
        output_dir = os.path.join(self.get_temp_dir(), "allocation")
        params = ["train.epochs = 1", "train.deterministic = False",
                  "mtl_data.num_train = 16", "mtl_data.num_test = 16"]
        result = allocation.run_allocation(
            output_dir, [MTL_GIN], params, splits=((40, 10), (10, 40)),
            noise_ratios=(0.5,), seeds=(0,))
        self.assertEqual(set(result["settings"]), {
            "fixed_40_10", "fixed_10_40", "learnt", "learnt_no_regulariser"})
        row = result["settings"]["fixed_10_40"]["aggregate"][0]
        self.assertEqual((row["left_size_mean"], row["right_size_mean"]), (10.0, 40.0))
        for name in ("allocation.json", "allocation.md", "allocation.png"):
            self.assertTrue(os.path.exists(os.path.join(output_dir, name)), name)
        with open(os.path.join(output_dir, "allocation.md")) as f:
            self.assertIn("best frozen split", f.read())

    def test_sweep_writes_json_and_plot(self):
        output_dir = os.path.join(self.get_temp_dir(), "sweep")
        params = ["train.epochs = 1", "train.deterministic = False",
                  "mtl_data.num_train = 16", "mtl_data.num_test = 16"]
        summary = sweep.run_sweep(output_dir, [MTL_GIN], params, noise_ratios=(1.0,),
                                      seeds=(3,), methods=("uls",))
        self.assertLen(summary["runs"], 1)
        run = summary["runs"][0]
        self.assertEqual(run["model_dir"], os.path.join(output_dir, "uls", "noise1.00_seed3"))
        self.assertTrue(os.path.exists(os.path.join(output_dir, "sweep.png")))
        self.assertTrue(os.path.exists(os.path.join(output_dir, "trajectories.png")))
        with open(os.path.join(output_dir, "trajectories.json")) as f:
            trajectory = json.load(f)[0]
        self.assertEqual((trajectory["method"], trajectory["seed"]), ("uls", 3))
        self.assertEqual([e["epoch"] for e in trajectory["epochs"]], [1])
        self.assertIn("val_mean_accuracy", trajectory["epochs"][0])
        with open(os.path.join(output_dir, "sweep.json")) as f:
            written = json.load(f)
        row = written["aggregate"]["uls"][0]
        self.assertEqual((row["noise_ratio"], row["num_seeds"]), (1.0, 1))
        self.assertEqual(row["right_accuracy_mean"], run["results"]["right_accuracy"])
        # A second call reuses the finished run instead of training again.
        results_path = os.path.join(run["model_dir"], "results.json")
        mtime = os.path.getmtime(results_path)
        again = sweep.run_sweep(output_dir, [MTL_GIN], params, noise_ratios=(1.0,),
                                    seeds=(3,), methods=("uls",))
        self.assertEqual(os.path.getmtime(results_path), mtime)
        self.assertEqual(again["aggregate"], written["aggregate"])
        # finished_only summarises the finished run and trains no other.
        partial = sweep.run_sweep(output_dir, [MTL_GIN], params, noise_ratios=(1.0, 0.5),
                                  seeds=(3,), methods=("uls",), finished_only=True)
        self.assertEqual([r["noise_ratio"] for r in partial["runs"]], [1.0])
        self.assertFalse(os.path.exists(os.path.join(output_dir, "uls", "noise0.50_seed3")))

    def _write_sweep(self, name, runs, gin_params=("train.epochs = 1",)):
        path = os.path.join(self.get_temp_dir(), name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "sweep.json"), "w") as f:
            json.dump({"runs": runs, "aggregate": sweep.aggregate(runs),
                       "gin_files": [MTL_GIN], "gin_params": list(gin_params)}, f)
        with open(os.path.join(path, "trajectories.json"), "w") as f:
            json.dump([{"method": r["method"], "noise_ratio": r["noise_ratio"],
                        "seed": r["seed"],
                        "epochs": [{"epoch": 1, "right_size": r["results"]["right_size"],
                                    "val_mean_accuracy": 0.5}]} for r in runs], f)
        return path

    def test_merge_sweeps(self):
        def run(method, alpha, right_size):
            return {"method": method, "noise_ratio": alpha, "seed": 0, "model_dir": "x",
                    "results": {"mean_accuracy": 0.5, "right_size": right_size,
                                "left_size": 50.0 - right_size}}

        first = self._write_sweep("a", [run("drpm", 0.6, 12.0), run("uls", 0.6, 0.0)])
        second = self._write_sweep("b", [run("uls", 0.0, 0.0), run("drpm", 0.0, 24.0)])
        output_dir = os.path.join(self.get_temp_dir(), "merged")
        merged = sweep.merge_sweeps([first, second], output_dir)
        keys = [(r["method"], r["noise_ratio"]) for r in merged["runs"]]
        self.assertEqual(keys, [("drpm", 0.0), ("drpm", 0.6), ("uls", 0.0), ("uls", 0.6)])
        self.assertEqual(merged["aggregate"], sweep.aggregate(merged["runs"]))
        self.assertEqual([r["right_size_mean"] for r in merged["aggregate"]["drpm"]],
                         [24.0, 12.0])
        with open(os.path.join(output_dir, "trajectories.json")) as f:
            trajectories = json.load(f)
        self.assertEqual([(t["method"], t["noise_ratio"]) for t in trajectories], keys)
        self.assertEqual(trajectories[1]["epochs"][0]["right_size"], 12.0)
        for name in ("sweep.png", "trajectories.png"):
            self.assertGreater(os.path.getsize(os.path.join(output_dir, name)), 1000)
        with self.assertRaisesRegex(ValueError, r"\('drpm', 0.6, 0\)"):
            sweep.merge_sweeps([first, first], output_dir)
        other = self._write_sweep("c", [run("drpm", 0.9, 10.0)], ("train.epochs = 2",))
        with self.assertRaisesRegex(ValueError, "different protocols"):
            sweep.merge_sweeps([first, other], output_dir)
        with self.assertRaisesRegex(ValueError, "missing"):
            sweep.merge_sweeps([self.get_temp_dir()], output_dir)

    def test_aggregate_and_plot(self):
        runs = [
            {"method": "uls", "noise_ratio": a, "seed": s,
             "results": {"left_accuracy": 0.9 - a / 10 + s / 100,
                         "right_accuracy": 0.8 - a + s / 10, "mean_accuracy": 0.5}}
            for a in (0.5, 0.0) for s in (0, 1, 2)
        ] + [
            {"method": "drpm", "noise_ratio": 0.0, "seed": 0,
             "results": {"left_accuracy": 0.9, "right_accuracy": 0.8,
                         "mean_accuracy": 0.85, "left_size": 20.0, "right_size": 30.0}},
        ]
        table = sweep.aggregate(runs)
        self.assertEqual([r["noise_ratio"] for r in table["uls"]], [0.0, 0.5])
        right = [0.8 - 0.5 + s / 10 for s in (0, 1, 2)]
        self.assertAllClose(table["uls"][1]["right_accuracy_mean"], np.mean(right))
        self.assertAllClose(table["uls"][1]["right_accuracy_std"], np.std(right))
        self.assertEqual(table["uls"][1]["num_seeds"], 3)
        self.assertNotIn("left_size_mean", table["uls"][0])
        self.assertEqual(table["drpm"][0]["right_size_mean"], 30.0)
        path = os.path.join(self.get_temp_dir(), "sweep.png")
        sweep.plot_sweep(table, path)
        self.assertGreater(os.path.getsize(path), 1000)

    def test_quick_config_parses(self):
        try:
            cli.parse_gin([os.path.join(REPO_ROOT, "gin", "mtl", "multi_fashion_quick.gin")],
                          [], finalize=False)
            self.assertEqual(gin.query_parameter("train.epochs"), 3)
            self.assertEqual(gin.query_parameter("mtl_data.source"), "fashion_mnist")
            self.assertEqual(gin.query_parameter("mtl_model.regularization_weight"), 0.015)
        finally:
            gin.clear_config()

    def test_bad_method(self):
        with self.assertRaisesRegex(ValueError, "method='x'"):
            driver.mtl_model(method="x")



class MtlKillAndResumeTest(tf.test.TestCase):

    def test_killed_run_resumes_exactly(self):
        # Each epoch is shuffled by (seed, epoch): before, the shuffle restarted
        # with the process and epochs after a resume differed.
        cache = os.path.join(self.get_temp_dir(), "cache")
        resume_util.check_kill_and_resume(
            self, "mtl", [MTL_GIN], ["train.epochs = 3", f"mtl_data.cache_dir = '{cache}'"],
            run_subdir="", kill_after_epoch=1, epochs=3)


if __name__ == "__main__":
    tf.test.main()
