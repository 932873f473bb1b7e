"""Tests of trainers/weak/plots.py: the Figure 3 analogue's data and picture."""

import os

import numpy as np
import tensorflow as tf

from trainers.weak import plots
from trainers.weak.results import summarize_runs


def _run(method, num_shared, seed, mse, estimate):
    return {"method": method, "num_shared_factors": num_shared, "seed": seed,
            "results": {"num_shared_mse": mse, "mean_num_shared": estimate}}


class SharedEstimateCurvesTest(tf.test.TestCase):

    def test_means_and_spreads_over_seeds(self):
        runs = [
            _run("drpm", 3, 0, 0.5, 2.5), _run("drpm", 3, 1, 1.5, 3.5),
            _run("drpm", 0, 0, 0.0, 0.0),
            _run("label", 0, 0, 81.0, 9.0),
            # A run whose evaluation failed is left out, not counted as 0.
            _run("label", 0, 1, None, None),
        ]
        curves = plots.shared_estimate_curves(summarize_runs(runs))
        self.assertEqual(list(curves), ["label", "drpm"])  # the table's order
        drpm = curves["drpm"]
        self.assertEqual(drpm["num_shared"], [0, 3])
        self.assertAllClose(drpm["mse"], [0.0, 1.0])
        self.assertAllClose(drpm["mse_std"], [0.0, 0.5])
        self.assertAllClose(drpm["estimate"], [0.0, 3.0])
        self.assertAllClose(drpm["estimate_std"], [0.0, 0.5])
        self.assertEqual(drpm["seeds"], [[0], [0, 1]])
        # The failed seed is listed with its group but not counted in the scores.
        self.assertEqual(curves["label"]["seeds"], [[0, 1]])
        self.assertAllClose(curves["label"]["mse"], [81.0])
        self.assertAllClose(curves["label"]["mse_std"], [0.0])

    def test_picture(self):
        rng = np.random.default_rng(0)
        runs = [_run(m, n, s, float(rng.uniform(0, 5)), float(rng.uniform(0, 10)))
                for m in ("label", "adaptive", "hg", "drpm")
                for n in (0, 1, 3, 5) for s in (0, 1)]
        path = os.path.join(self.get_temp_dir(), "estimates.png")
        self.assertEqual(plots.plot_shared_estimates(summarize_runs(runs), path, title="t"), path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    tf.test.main()
