"""End-to-end smoke test of trainers/weak/ (all four methods, seconds)."""

import json
import os
import subprocess
import sys
import tempfile
from unittest import mock

import gin
import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tests.trainers import resume_util
from trainers.core import cli
from trainers.core import run_directory
from trainers.weak import driver
from trainers.weak import evaluation
from trainers.weak.diagnostics import DIAGNOSTICS_FILE
from trainers.weak.evaluation import weak_dlib_metrics
from trainers.weak.results import format_weak_table
from trainers.weak.results import summarize_runs

_SMOKE = "gin/tests/weak_smoke.gin"
_METHODS = ("label", "adaptive", "hg", "drpm")


class WeakTrainerTest(tf.test.TestCase):

    def tearDown(self):
        gin.clear_config()
        super().tearDown()

    def test_smoke_all_methods(self):
        model_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        summary = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE])
        self.assertLen(summary["runs"], 4)
        self.assertEqual([r["method"] for r in summary["runs"]], list(_METHODS))
        for method in _METHODS:
            run_dir = os.path.join(model_dir, method, "ns3_seed0")
            with open(os.path.join(run_dir, "results.json")) as f:
                run = json.load(f)
            self.assertEqual(run["step"], 2)  # 1 epoch of 2 steps
            results = run["results"]
            self.assertTrue(np.isfinite(results["num_shared_mse"]))
            self.assertBetween(results["mean_num_shared"], 0.0, 10.0)
            # disentanglement_lib's results layout.
            evaluation = os.path.join(run_dir, "metrics", "weak_supervision",
                                      "results")
            with open(os.path.join(evaluation, "json",
                                   "evaluation_results.json")) as f:
                scores = json.load(f)
            self.assertLen(scores["shared_accuracy_per_factor"], 7)
            self.assertEqual(scores["true_num_shared"], 3.0)
            self.assertIn("uuid", scores)
            with open(os.path.join(evaluation, "aggregate", "evaluation.json")) as f:
                aggregate = json.load(f)
            self.assertEqual(aggregate["evaluation_config.weak_model.method"],
                             repr(method))
            self.assertTrue(os.path.exists(os.path.join(
                run_dir, "model", "results", "json", "train_results.json")))
            self.assertTrue(os.path.exists(os.path.join(
                evaluation, "gin", "evaluation.gin")))
            # Diagnostics beside the estimate, through training and at the end.
            self.assertBetween(results["num_low_kl_mean"], 0.0, 10.0)
            self.assertEqual(("size_logit_gap_mean" in results),
                             method in ("hg", "drpm"))
            self.assertLen(scores["diagnostics"]["num_shared_histogram"], 11)
            with open(os.path.join(run_dir, DIAGNOSTICS_FILE)) as f:
                steps = [json.loads(line)["step"] for line in f]
            self.assertEqual(steps[0], 0)
            self.assertEqual(steps[-1], 2)
            self.assertIn("diag_num_low_kl_mean", run["final_logs"])
            for picture in ("reconstructions.png", "traversal.png", "diagnostics.png"):
                self.assertGreater(
                    os.path.getsize(os.path.join(run_dir, picture)), 1000, picture)
        # Label-VAE with one known independent factor shares 9 of 10 dims:
        # its MSE against n_s = 3 is exactly (9 - 3)^2.
        label = summary["runs"][0]["results"]
        self.assertEqual(label["num_shared_mse"], 36.0)
        with open(os.path.join(model_dir, "results.md")) as f:
            table = f.read()
        for name in ("Label-VAE", "Ada-VAE", "HG-VAE", "DRPM-VAE", "MSE(n_s) n_s=3",
                     "MIG n_s=3", "SAP n_s=3"):
            self.assertIn(name, table)
        self.assertNotIn("DCI D", table)  # not computed by the smoke config
        self.assertGreater(os.path.getsize(
            os.path.join(model_dir, "shared_factor_estimates.png")), 1000)
        for run in summary["runs"]:
            self.assertTrue(np.isfinite(run["results"]["mig.discrete_mig"]))
            self.assertTrue(os.path.exists(os.path.join(
                run["model_dir"], "metrics", "sap_score", "results", "aggregate",
                "evaluation.json")))
        # results.md: the per-metric table, then the Figure 3 and Table 2 analogues.
        self.assertTrue(table.startswith(summary["table"]))
        self.assertIn("Figure 3 analogue", table)
        self.assertIn("| Label-VAE | 36.000 (9.000) |", table)
        self.assertIn("Table 2 analogue", table)
        with open(os.path.join(model_dir, "results.json")) as f:
            self.assertLen(json.load(f)["aggregate"], 4)

        # Rerunning the command reuses the finished runs (no training).
        path = os.path.join(model_dir, "drpm", "ns3_seed0", "results.json")
        modified = os.path.getmtime(path)
        again = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE])
        self.assertEqual(os.path.getmtime(path), modified)
        self.assertEqual(again["table"], summary["table"])

    def test_disentanglement_lib_dummy_data(self):
        # A disentanglement_lib GroundTruthData object trains through our
        # trainer as is (10 factors of 5 values, 64x64x1 noise images); its
        # own metrics score the run and its own aggregation reads the results.
        try:
            # pylint: disable-next=g-import-not-at-top
            from disentanglement_lib.utils import aggregate_results
        except ImportError as e:
            self.skipTest(f"disentanglement-lib (or pandas, simplejson): {e}")
        model_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
        metrics = ("mig", "dci", "sap_score", "modularity_explicitness")
        summary = cli.run_with_gin(
            driver.weak_experiment, model_dir, [_SMOKE],
            ["weak_dataset.name = 'dummy_data'", "weak_experiment.methods = ('drpm',)",
             "weak_experiment.num_shared_factors = (4,)",
             f"weak_dlib_metrics.metrics = {metrics!r}",
             "weak_dlib_metrics.num_test = 100"])
        (run,) = summary["runs"]
        self.assertEqual(run["num_shared_factors"], 4)
        self.assertTrue(np.isfinite(run["results"]["num_shared_mse"]))
        with open(os.path.join(run["model_dir"], "metrics", "weak_supervision",
                               "results", "json", "evaluation_results.json")) as f:
            self.assertLen(json.load(f)["independent_accuracy_per_factor"], 10)
        for column in ("MIG n_s=4", "DCI D n_s=4", "SAP n_s=4", "Mod n_s=4",
                       "Expl n_s=4"):
            self.assertIn(column, summary["table"])
        with open(os.path.join(run["model_dir"], "metrics", "mig", "results", "gin",
                               "evaluation.gin")) as f:
            operative = f.read()
        self.assertIn("mig.num_train = 100", operative)
        self.assertIn("discretizer.num_bins = 20", operative)

        # disentanglement_lib's aggregation, as its users run it.
        output = os.path.join(model_dir, "dlib_results.json")
        aggregate_results.aggregate_results_to_json(
            os.path.join(model_dir, "*", "*", "metrics", "*", "results", "aggregate",
                         "evaluation.json"), output)
        frame = aggregate_results.load_aggregated_json_results(output)
        self.assertLen(frame, 5)  # weak_supervision and the four metrics
        metric_of_row = frame["path"].str.extract(r"metrics/([^/]+)/results")[0]
        self.assertCountEqual(metric_of_row, ("weak_supervision",) + metrics)
        for metric, column in (
                ("mig", "discrete_mig"), ("dci", "disentanglement"),
                ("dci", "completeness"), ("dci", "informativeness_test"),
                ("sap_score", "SAP_score"), ("modularity_explicitness",
                                             "modularity_score"),
                ("modularity_explicitness", "explicitness_score_test"),
                ("weak_supervision", "num_shared_mse")):
            values = frame.loc[metric_of_row == metric,
                               f"evaluation_results.{column}"].astype(float)
            self.assertLen(values, 1)
            self.assertTrue(np.all(np.isfinite(values)), (metric, column))
        self.assertTrue(
            (frame["evaluation_config.weak_model.method"] == "'drpm'").all())

    def test_temperature_is_annealed_for_drpm_only(self):
        gin.parse_config_files_and_bindings(
            [], ["weak_dataset.name = 'mpi3d_stand_in'", "train.epochs = 4",
                 "weak_data.steps_per_epoch = 25"])
        drpm = driver.weak_model(method="drpm")
        (schedule,) = driver.weak_callbacks(drpm)
        self.assertAllClose(schedule.temperature_at(100), 0.5)
        self.assertAllClose(schedule.temperature_at(50), 2.0 ** -0.5)
        self.assertEqual(driver.weak_callbacks(driver.weak_model(method="adaptive")), [])

    def test_paper_protocol_configs(self):
        # Appendix C.2 / disentanglement_lib: batch 64, 300k Adam steps at
        # lr 1e-4, d = 10, beta = 1, gamma = 0.25, n_s in {0, 1, 3, 5}, 5 seeds.
        for method in _METHODS:
            cli.parse_gin([f"gin/weak/{method}.gin"], finalize=False)
            query = gin.query_parameter
            self.assertEqual(query("weak_experiment.methods"), (method,))
            self.assertEqual(query("weak_data.batch_size"), 64)
            self.assertEqual(
                query("train.epochs") * query("weak_data.steps_per_epoch"), 300000)
            self.assertEqual(query("keras.optimizers.Adam.learning_rate"), 1e-4)
            self.assertEqual(query("weak_model.num_latent"), 10)
            self.assertEqual(query("weak_model.beta"), 1.0)
            self.assertEqual(query("weak_model.gamma"), 0.25)
            self.assertEqual(query("weak_callbacks.final_temperature"), 0.5)
            self.assertEqual(query("weak_experiment.num_shared_factors"),
                             (0, 1, 3, 5))
            self.assertLen(query("weak_experiment.seeds"), 5)
            # disentanglement_lib's default metrics at its own sizes.
            self.assertEqual(query("weak_dlib_metrics.metrics"),
                             ("mig", "dci", "sap_score", "modularity_explicitness"))
            self.assertEqual(query("weak_dlib_metrics.random_seed"), 0)
            gin.clear_config()
        cli.parse_gin(["gin/weak/quick.gin"], finalize=False)
        self.assertEqual(gin.query_parameter("weak_dataset.name"), "mpi3d_stand_in")
        self.assertLen(gin.query_parameter("weak_experiment.methods"), 4)
        # The cheap metrics only.
        self.assertEqual(gin.query_parameter("weak_dlib_metrics.metrics"),
                         ("mig", "sap_score", "modularity_explicitness"))
        # The quick protocol's departures; the paper config keeps the paper's.
        self.assertEqual(gin.query_parameter("weak_model.size_head_input"),
                         "saturating")
        self.assertEqual(gin.query_parameter("weak_model.view_reduction"), "sum")
        gin.clear_config()
        cli.parse_gin(["gin/weak/paper.gin"],
                      ["weak_dataset.name = 'mpi3d_stand_in'"], finalize=False)
        model = driver.weak_model(method="drpm")
        self.assertEqual(model.aggregation.size_head_input, "kl")
        self.assertEqual(model.view_reduction, "mean")

    def test_table_with_disentanglement_lib_columns(self):
        ours = {"num_shared_mse": 1.0, "mean_num_shared": 2.0,
                "shared_accuracy": 0.5, "independent_accuracy": 0.25}
        runs = [
            {"method": "drpm", "num_shared_factors": 3, "seed": seed,
             "results": dict(ours, **{"mig.discrete_mig": 0.1 * seed,
                                      "sap_score.SAP_score": 0.02})}
            for seed in (0, 1)]
        runs.append({"method": "label", "num_shared_factors": 3, "seed": 0,
                     "results": ours})  # a run without the dlib step
        summary = summarize_runs(runs)
        table = format_weak_table(summary)
        header, _, label, drpm = table.splitlines()
        self.assertEqual(header.split(" | ")[-2:], ["MIG n_s=3", "SAP n_s=3 |"])
        self.assertNotIn("DCI", header)
        self.assertTrue(label.endswith("| n/a | n/a |"), label)
        self.assertIn("| 0.050 ± 0.050 | 0.020 ± 0.000 |", drpm)

    def test_bad_dlib_metric(self):
        with self.assertRaisesRegex(ValueError, r"Received: metrics=\('mig', 'xyz'\)"):
            weak_dlib_metrics(None, self.get_temp_dir(), metrics=("mig", "xyz"))
        self.assertEqual(weak_dlib_metrics(None, self.get_temp_dir(), ()), {})

    def test_size_prior_log_weights_reach_the_learnt_size_heads(self):
        gin.parse_config_files_and_bindings([], ["weak_dataset.name = 'mpi3d_stand_in'"])
        for method in ("hg", "drpm"):
            model = driver.weak_model(method=method, prior_log_weights=(0.0, 2.0))
            self.assertEqual(model.aggregation.prior_log_weights, (0.0, 2.0))
            self.assertEqual(driver.weak_model(method=method).aggregation.prior_log_weights,
                             (0.0, 0.0))
        with self.assertRaisesRegex(ValueError, r"Received: prior_log_weights=\(0.0,\)"):
            driver.weak_model(method="drpm", prior_log_weights=(0.0,))

    def test_bad_method(self):
        with self.assertRaisesRegex(ValueError, "Received: method='vae'"):
            driver.weak_model(method="vae")

    def test_bad_dataset(self):
        with self.assertRaisesRegex(ValueError, "Received: name='shapes3d'"):
            driver.ground_truth_dataset("shapes3d")
        with self.assertRaisesRegex(ValueError, "Received: path=None"):
            driver.ground_truth_dataset("mpi3d_toy")



class WeakEvaluationFailureTest(tf.test.TestCase):
    """No trained run is lost to a metric (issue 19, item 3)."""

    def tearDown(self):
        gin.clear_config()
        super().tearDown()

    def test_metric_that_cannot_work_is_refused_before_training(self):
        # The command: 50 test points cannot hold the 40 values of a
        # factor, so explicitness would fail after training, on every rerun.
        model_dir = os.path.join(self.get_temp_dir(), "refused")
        proc = subprocess.run(
            [sys.executable, "-m", "trainers.weak", "--gin_file", _SMOKE, "--model_dir",
             model_dir, "--gin_param",
             "weak_dlib_metrics.metrics = ('modularity_explicitness',)"],
            cwd=subprocess_result.REPO_ROOT, env=subprocess_result.subprocess_env(),
            capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 1, proc.stderr[-3000:])
        self.assertNotIn("Traceback", proc.stderr)
        (error,) = [l for l in proc.stderr.splitlines() if l.startswith("ERROR:")]
        self.assertRegex(error, r"modularity_explicitness needs.*factor 5 \(40 values\).*"
                                r"Received: num_train=100, num_test=50; the smallest sizes "
                                r"that hold every value are num_train=159, num_test=288\."
                                r".*weak_dlib_metrics.num_test")
        self.assertFalse(os.path.exists(os.path.join(model_dir, "label")))  # no training
        # Those sizes work: bound as suggested, the metric is scored.
        model_dir = os.path.join(self.get_temp_dir(), "suggested")
        params = ["weak_experiment.methods = ('label',)",
                  "weak_dlib_metrics.metrics = ('modularity_explicitness',)",
                  "weak_dlib_metrics.num_train = 159", "weak_dlib_metrics.num_test = 288"]
        summary = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE], params)
        self.assertIn("modularity_explicitness.explicitness_score_test",
                      summary["runs"][0]["results"])

    def test_failed_metric_is_recorded_and_a_rerun_evaluates_again(self):
        model_dir = os.path.join(self.get_temp_dir(), "failing")
        params = ["weak_experiment.methods = ('label',)",
                  "weak_dlib_metrics.metrics = ('mig', 'sap_score')"]
        scores = evaluation.disentanglement_lib_scores

        def failing_sap(data, representation, metrics, **kwargs):
            if metrics == ("sap_score",):
                raise IndexError("index 29 is out of bounds for axis 1 with size 29")
            return scores(data, representation, metrics, **kwargs)

        with mock.patch.object(evaluation, "disentanglement_lib_scores", failing_sap):
            summary = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE], params)
        results = summary["runs"][0]["results"]
        self.assertEqual(results["sap_score.failed"],
                         "IndexError: index 29 is out of bounds for axis 1 with size 29")
        self.assertIn("mig.discrete_mig", results)  # the others are scored
        for path in (os.path.join(model_dir, "results.md"),
                     os.path.join(model_dir, "label", "ns3_seed0", "results.md")):
            with open(path) as f:
                self.assertIn("IndexError: index 29 is out of bounds", f.read())
        self.assertRegex(summary["table"], r"\| failed \[1\] \|")
        self.assertIn("[1] Label-VAE, SAP n_s=3: seed 0: failed (IndexError: index 29",
                      summary["table"])
        run_dir = os.path.join(model_dir, "label", "ns3_seed0")
        epochs_log = os.path.join(run_dir, "epochs.jsonl")
        with open(epochs_log) as f:
            trained = f.read()
        # A rerun evaluates the finished run again, without training it.
        again = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE], params)
        results = again["runs"][0]["results"]
        self.assertNotIn("sap_score.failed", results)
        self.assertIn("sap_score.SAP_score", results)
        with open(os.path.join(run_dir, "results.json")) as f:
            self.assertEqual(json.load(f)["initial_epoch"], 1)  # restored, not trained
        with open(epochs_log) as f:
            self.assertEqual(f.read(), trained)
        # Evaluation settings change without --allow_config_change, and the
        # finished run is evaluated again with them; a training setting does not.
        changed = cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE],
                                   params[:1] + ["weak_dlib_metrics.metrics = ('irs',)"])
        self.assertIn("irs.IRS", changed["runs"][0]["results"])
        self.assertNotIn("mig.discrete_mig", changed["runs"][0]["results"])
        with open(epochs_log) as f:
            self.assertEqual(f.read(), trained)
        with self.assertRaisesRegex(run_directory.RunDirectoryError,
                                    r"weak_data.batch_size: 2 -> 4\n.*--allow_config_change"):
            cli.run_with_gin(driver.weak_experiment, model_dir, [_SMOKE],
                             params + ["weak_data.batch_size = 4"])

    def test_convention_scores_are_footnoted(self):
        runs = [{"method": "drpm", "num_shared_factors": 3, "seed": 0, "results": {
            "factor_vae_metric.eval_accuracy": 0.0, "factor_vae_metric.num_active_dims": 0,
            "factor_vae_metric.note": "0 by disentanglement_lib's convention: no active "
                                      "dimension"}}]
        table = format_weak_table(summarize_runs(runs))
        self.assertIn("| 0.000 [1] |", table)
        self.assertIn("[1] DRPM-VAE, FactorVAE n_s=3: seed 0: 0 by disentanglement_lib's "
                      "convention: no active dimension", table)

    def test_convention_notes_from_the_codes(self):
        # Constant codes: FactorVAE and IRS 0 by convention, and said so.

        class _Constant:
            observation_shape = (32, 32, 1)

            def encode(self, x):
                return np.zeros([len(x), 4], np.float32)

        gin.parse_config(["weak_dataset.image_size = 32"])
        results = evaluation.weak_dlib_metrics(
            _Constant(), self.get_temp_dir(), ("factor_vae_metric", "irs", "mig"),
            num_train=64, num_test=64)
        self.assertEqual(results["factor_vae_metric.eval_accuracy"], 0.0)
        self.assertRegex(results["factor_vae_metric.note"], "no active dimension")
        self.assertEqual(results["irs.IRS"], 0.0)
        self.assertRegex(results["irs.note"], "every code dimension is constant")
        self.assertNotIn("mig.note", results)


class WeakKillAndResumeTest(tf.test.TestCase):

    def test_killed_run_resumes_exactly(self):
        resume_util.check_kill_and_resume(
            self, "weak", [_SMOKE], ["train.epochs = 3", "weak_experiment.methods = ('drpm',)"],
            run_subdir=os.path.join("drpm", "ns3_seed0"), kill_after_epoch=1, epochs=3)


if __name__ == "__main__":
    tf.test.main()
