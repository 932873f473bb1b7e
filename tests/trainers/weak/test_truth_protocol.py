"""The learnable ground truth in trainers/weak/: the data set name, the
per-factor probes and gin/weak/truth.gin (no training)."""

import gin
import numpy as np
import tensorflow as tf

from tf_drpm.weak_supervision import LocalFactorGrid
from trainers.core import cli
from trainers.weak import driver  # registers the family's configurables
from trainers.weak import evaluation
from trainers.weak.dataset import ground_truth_dataset
from trainers.weak.evaluation import factor_probe_scores


class FactorProbeScoresTest(tf.test.TestCase):

    def test_codes_that_hold_the_factors_score_one(self):
        factors = np.random.RandomState(0).randint(4, size=(600, 3))
        # Each factor read from its own dim, plus two noise dims.
        codes = np.concatenate(
            [factors + 0.05 * np.random.RandomState(1).normal(size=factors.shape),
             np.random.RandomState(2).normal(size=(600, 2))], axis=1)
        scores = factor_probe_scores(codes, factors, 400)
        self.assertEqual(scores.shape, (3,))
        self.assertAllClose(scores, np.ones(3))

    def test_noise_scores_near_zero_and_a_constant_factor_is_nan(self):
        random = np.random.RandomState(3)
        factors = np.stack([random.randint(3, size=900), np.zeros(900, int)], axis=1)
        scores = factor_probe_scores(random.normal(size=(900, 4)), factors, 600)
        self.assertLess(abs(scores[0]), 0.15)
        self.assertTrue(np.isnan(scores[1]))

    def test_bad_inputs(self):
        codes, factors = np.zeros((10, 2)), np.zeros((10, 3), int)
        with self.assertRaisesRegex(ValueError, r"codes.shape=\(9, 2\)"):
            factor_probe_scores(codes[:9], factors, 5)
        with self.assertRaisesRegex(ValueError, "Received: num_train=10"):
            factor_probe_scores(codes, factors, 10)
        with self.assertRaisesRegex(ValueError, "Received: num_train=0"):
            factor_probe_scores(codes, factors, 0)


class TruthProtocolTest(tf.test.TestCase):

    def tearDown(self):
        gin.clear_config()
        super().tearDown()

    def test_dataset_name(self):
        self.assertIsInstance(ground_truth_dataset("local_factor_grid"),
                              LocalFactorGrid)
        with self.assertRaisesRegex(ValueError, "Received: image_size=32"):
            ground_truth_dataset("local_factor_grid", image_size=32)
        with self.assertRaisesRegex(ValueError,
                                    "'local_factor_grid'.*Received: name='grid'"):
            ground_truth_dataset("grid")

    def test_truth_gin(self):
        cli.parse_gin(["gin/weak/truth.gin"], finalize=False)
        query = gin.query_parameter
        self.assertEqual(query("weak_dataset.name"), "local_factor_grid")
        self.assertEqual(query("weak_experiment.methods"),
                         ("label", "adaptive", "hg", "drpm"))
        self.assertEqual(query("weak_experiment.num_shared_factors"), (0, 1, 3, 5))
        self.assertEqual(query("weak_experiment.seeds"), (0, 1, 2))
        # The quick protocol's departures stay.
        self.assertEqual(query("weak_model.size_head_input"), "saturating")
        self.assertEqual(query("weak_model.view_reduction"), "sum")
        self.assertEqual(query("weak_dlib_metrics.metrics"), ("mig", "sap_score"))
        # Its disentanglement_lib metrics work at its sizes on this data.
        evaluation.check_dlib_metric_settings()
        model = driver.weak_model(method="label")
        self.assertEqual(model.observation_shape, (64, 64, 3))


if __name__ == "__main__":
    tf.test.main()
