"""`trainers.vc.budget` on generated data: runs, resume, summary files."""

import json
import os

import tensorflow as tf

from tests import subprocess_result
from trainers.core import cli
from trainers.vc import budget

_REPO = subprocess_result.REPO_ROOT
_SMOKE = os.path.join(_REPO, "gin", "tests", "vc_smoke.gin")


class BudgetTest(tf.test.TestCase):
    def test_runs_summarises_and_resumes(self):
        tmp = self.get_temp_dir()
        output_dir = os.path.join(tmp, "budget")
        params = [f"vc_experiment.cache_dir = '{os.path.join(tmp, 'cache')}'",
                  "vc_experiment.methods = ['drpm_vc']"]  # replaced per variant
        summary = budget.run_budget(output_dir, [_SMOKE], params, variants=("b", "c"),
                                    seeds=(0,), epochs=(3,))
        self.assertEqual([(r["variant"], r["epochs"]) for r in summary["runs"]],
                         [("b", 3), ("c", 3)])
        for run in summary["runs"]:
            self.assertEqual([e["epoch"] for e in run["trajectory"]], [1, 2, 3])
            self.assertGreater(run["training_s"], 0.0)
            # The last epoch's test scores are the run's final scores.
            for score in ("acc", "nmi", "ari"):
                self.assertAllClose(run["trajectory"][-1][f"test_{score}"],
                                    run["results"][score])
        b_run, c_run = summary["runs"]
        self.assertIn("off_nearest_prior", b_run["trajectory"][0])
        self.assertTrue(all(e["off_nearest_prior"] == 0.0 for e in c_run["trajectory"]))
        # b binds the paper's weights and noisy counts; c has no partition model.
        with open(os.path.join(b_run["model_dir"], "results.json")) as f:
            b_results = json.load(f)
        self.assertEqual(b_results["partition_weights"], "mean_responsibilities")
        self.assertTrue(b_results["noisy_counts"])
        self.assertTrue(os.path.exists(os.path.join(c_run["model_dir"], "nearest_prior")))
        for name in ("budget.png", "partition_diagnostics.png"):
            with open(os.path.join(output_dir, name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(output_dir, "budget.md")) as f:
            table = f.read()
        self.assertIn("| (b) DRPM-VC, the paper's q(Y \\| X) | 3 | 0 |", table)
        # A finished sweep is read back, not retrained; missing runs are skipped.
        again = budget.run_budget(output_dir, [_SMOKE], params, variants=("b", "c", "a"),
                                  seeds=(0,), epochs=(3,), finished_only=True)
        self.assertEqual(again["runs"], summary["runs"])

    def test_unknown_variant_is_an_error(self):
        with self.assertRaisesRegex(cli.CommandError, r"variants=\['x'\]"):
            budget.run_budget(self.get_temp_dir(), [_SMOKE], variants=("x",))


if __name__ == "__main__":
    tf.test.main()
