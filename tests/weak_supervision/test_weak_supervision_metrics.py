"""Tests of tf_drpm/weak_supervision/weak_supervision_metrics.py."""

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.data.ground_truth_data import GroundTruthData
from tf_drpm.weak_supervision import weak_supervision_metrics as wsm
from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler
from tf_drpm.weak_supervision.weak_vae import WeakVAE

_FACTOR_SIZES = (2, 3, 4, 3)


def _random_baccuracy_tolerance(num_test, num_classes, sigmas=5.0):
    """`sigmas` standard deviations of the adjusted balanced accuracy at chance.

    With predictions independent of the labels, the recall of class c over its
    m = num_test / C test examples has variance at most p (1 - p) / m with
    p <= 1/2 (the prediction frequency of c), so the mean of C recalls has
    standard deviation at most sqrt(1 / (4 m C)); adjusting divides by
    (1 - 1 / C).
    """
    per_class = num_test / num_classes
    std = np.sqrt(1.0 / (4.0 * per_class * num_classes))
    return sigmas * std / (1.0 - 1.0 / num_classes)


class _FactorImages(GroundTruthData):
    """Observations that ARE the factors (shape [F]): a transparent data set."""

    @property
    def num_factors(self):
        return len(_FACTOR_SIZES)

    @property
    def factors_num_values(self):
        return list(_FACTOR_SIZES)

    @property
    def observation_shape(self):
        return [len(_FACTOR_SIZES)]

    def sample_factors(self, num, random_state):
        return np.stack(
            [random_state.randint(v, size=num) for v in _FACTOR_SIZES], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        del random_state
        return np.asarray(factors, np.float32)


class _OracleModel:
    """Shares exactly the dims whose values agree; codes are the factors."""

    def __call__(self, inputs, training=False):
        assert not training
        x1, x2 = np.asarray(inputs["x1"]), np.asarray(inputs["x2"])
        shared = (x1 == x2).astype(np.float32)
        return {"mean1": x1, "shared_mask": shared, "num_shared": shared.sum(-1)}


class _ConstantModel:
    """Shares every dimension and encodes nothing (constant codes)."""

    def __call__(self, inputs, training=False):
        x1 = np.asarray(inputs["x1"])
        return {"mean1": np.zeros_like(x1), "shared_mask": np.ones_like(x1),
                "num_shared": np.full(len(x1), float(x1.shape[1]))}


def _pairs(num, num_shared, seed):
    sampler = WeakPairSampler(_FactorImages(), num_shared_factors=num_shared)
    return sampler.sample(num, np.random.RandomState(seed))


class NumSharedMseTest(tf.test.TestCase, parameterized.TestCase):

    def test_hand_made_counts(self):
        # (3-3)^2 + (5-3)^2 + (4-3)^2 + (0-3)^2 = 14, over 4 pairs.
        self.assertAllClose(wsm.num_shared_mse([3, 5, 4, 0], 3), 3.5)
        self.assertAllClose(wsm.num_shared_mse([1, 2], [1, 4]), 2.0)
        self.assertEqual(wsm.num_shared_mse(np.full(7, 2.0), 2), 0.0)

    @parameterized.named_parameters(
        ("empty", [], 1, "non-empty"),
        ("nan", [1.0, np.nan], 1, "finite"),
        ("shapes", [1.0, 2.0, 3.0], [1.0, 2.0], "broadcast"))
    def test_bad_input(self, estimated, true, message):
        with self.assertRaisesRegex(ValueError, message):
            wsm.num_shared_mse(estimated, true)


class LinearProbeScoreTest(tf.test.TestCase):

    def test_perfect_features_score_one(self):
        rng = np.random.RandomState(0)
        labels = rng.randint(5, size=600)
        features = np.eye(5)[labels] + 0.01 * rng.normal(size=(600, 5))
        score = wsm.linear_probe_score(features[:400], labels[:400],
                                       features[400:], labels[400:])
        self.assertAllClose(score, 1.0)

    def test_random_features_score_zero(self):
        rng = np.random.RandomState(1)
        num_train, num_test, num_classes = 1000, 4000, 4
        labels = rng.randint(num_classes, size=num_train + num_test)
        features = rng.normal(size=(num_train + num_test, 3))
        score = wsm.linear_probe_score(features[:num_train], labels[:num_train],
                                       features[num_train:], labels[num_train:])
        self.assertLess(abs(score),
                        _random_baccuracy_tolerance(num_test, num_classes))

    def test_single_class_is_nan(self):
        score = wsm.linear_probe_score(np.ones((4, 2)), np.zeros(4), np.ones((3, 2)),
                                       np.array([0, 1, 1]))
        self.assertTrue(np.isnan(score))

    def test_mismatched_lengths(self):
        with self.assertRaisesRegex(ValueError, "same length"):
            wsm.linear_probe_score(np.ones((4, 2)), np.zeros(3), np.ones((3, 2)),
                                   np.zeros(3))


class PartitionProbeScoresTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(1, 2)
    def test_perfect_representation(self, num_shared):
        pairs = _pairs(1200, num_shared, seed=num_shared)
        codes = pairs["factors1"].astype(np.float64)
        scores = wsm.partition_probe_scores(
            codes, pairs["shared"], pairs["factors1"], pairs["shared"], 800)
        self.assertGreater(scores["shared_accuracy"], 0.97)
        self.assertGreater(scores["independent_accuracy"], 0.97)
        self.assertAllGreater(scores["shared_accuracy_per_factor"], 0.9)

    def test_swapped_mask_scores_zero(self):
        # The shared probe sees only the dims of the OTHER (independent)
        # factors and vice versa; factors are independent draws, so ~0.
        num_train, num_test = 2000, 3000
        pairs = _pairs(num_train + num_test, 2, seed=5)
        codes = pairs["factors1"].astype(np.float64)
        scores = wsm.partition_probe_scores(
            codes, ~pairs["shared"], pairs["factors1"], pairs["shared"], num_train)
        # Each factor is shared in 2 of 4 = half of the pairs.
        tolerance = _random_baccuracy_tolerance(num_test / 2, max(_FACTOR_SIZES))
        for key in ("shared_accuracy_per_factor", "independent_accuracy_per_factor"):
            self.assertAllLess(np.abs(scores[key]), tolerance)

    def test_random_representation_scores_zero(self):
        num_train, num_test = 2000, 3000
        pairs = _pairs(num_train + num_test, 1, seed=6)
        rng = np.random.RandomState(7)
        codes = rng.normal(size=(num_train + num_test, 6))
        mask = rng.randint(2, size=codes.shape)
        scores = wsm.partition_probe_scores(
            codes, mask, pairs["factors1"], pairs["shared"], num_train)
        # The shared subset of a factor holds ~1/4 of the test pairs.
        tolerance = _random_baccuracy_tolerance(num_test / 4, max(_FACTOR_SIZES))
        self.assertLess(abs(scores["shared_accuracy"]), tolerance)
        self.assertLess(abs(scores["independent_accuracy"]), tolerance)

    def test_no_shared_factor_is_nan(self):
        pairs = _pairs(300, 0, seed=8)
        scores = wsm.partition_probe_scores(
            pairs["factors1"], np.zeros_like(pairs["factors1"]), pairs["factors1"],
            pairs["shared"], 200)
        self.assertTrue(np.isnan(scores["shared_accuracy"]))
        self.assertGreater(scores["independent_accuracy"], 0.97)

    @parameterized.named_parameters(
        ("mask_values", lambda a: dict(a, shared_mask=a["shared_mask"] * 0.5),
         "0 and 1"),
        ("mask_shape", lambda a: dict(a, shared_mask=a["shared_mask"][:, :2]),
         "same shape"),
        ("num_train", lambda a: dict(a, num_train=10), "num_train"),
        ("factors", lambda a: dict(a, factors=a["factors"][:5]), "factors"))
    def test_bad_input(self, change, message):
        arguments = {"codes": np.ones((10, 3)), "shared_mask": np.ones((10, 3)),
                     "factors": np.zeros((10, 2), int),
                     "factor_shared": np.ones((10, 2), bool), "num_train": 5}
        with self.assertRaisesRegex(ValueError, message):
            wsm.partition_probe_scores(**change(arguments))


class WeakSupervisionScoresTest(tf.test.TestCase):

    def test_oracle_model(self):
        scores = wsm.weak_supervision_scores(
            _OracleModel(), _FactorImages(), 2, np.random.RandomState(0),
            num_train=600, num_test=300, batch_size=128)
        self.assertEqual(scores["num_shared_mse"], 0.0)
        self.assertEqual(scores["true_num_shared"], 2.0)
        self.assertGreater(scores["shared_accuracy"], 0.97)
        self.assertGreater(scores["independent_accuracy"], 0.97)

    def test_constant_model(self):
        # Shares all 4 dims of pairs that share 1 factor: MSE (4 - 1)^2 = 9;
        # constant codes carry no information (score 0 or undefined).
        scores = wsm.weak_supervision_scores(
            _ConstantModel(), _FactorImages(), 1, np.random.RandomState(1),
            num_train=200, num_test=200, batch_size=64)
        self.assertEqual(scores["num_shared_mse"], 9.0)
        self.assertEqual(scores["mean_num_shared"], 4.0)
        self.assertAllClose(scores["shared_accuracy"], 0.0)


class _PixelEncoder(keras.layers.Layer):
    """Posterior mean = the first 10 pixels of row 0, log-variance -2: dim j of
    the latent code sees only pixel (0, j), so the test chooses which dims two
    views share."""

    def call(self, x):
        mean = 4.0 * x[:, 0, :10, 0]
        return mean, tf.fill(tf.shape(mean), -2.0)


class _CollapsedEncoder(keras.layers.Layer):
    """The prior N(0, 1) for every input."""

    def call(self, x):
        return (tf.zeros_like(x[:, 0, :10, 0]),) * 2


def _known_pairs(num_pairs, independent_dims, seed=0):
    rs = np.random.RandomState(seed)
    x1 = rs.uniform(size=(num_pairs, 64, 64, 1)).astype(np.float32)
    x2 = x1.copy()
    for j in independent_dims:
        x2[:, 0, j, 0] = (x1[:, 0, j, 0] + 0.5) % 1.0  # differs by exactly 0.5
    return x1, x2


class SharedDimensionDiagnosticsTest(tf.test.TestCase, parameterized.TestCase):

    def _model(self, method="drpm", encoder=None):
        model = WeakVAE(method, observation_shape=(64, 64, 1), seed=0)
        model.encoder = encoder or _PixelEncoder()
        model.build()
        return model

    @parameterized.named_parameters(("drpm", "drpm"), ("hg", "hg"),
                                    ("adaptive", "adaptive"))
    def test_counts_the_dims_the_views_share(self, method):
        independent = (1, 4, 6, 7)
        x1, x2 = _known_pairs(32, independent)
        model = self._model(method)
        diagnostics = wsm.shared_dimension_diagnostics(model, x1, x2, threshold=0.05)
        kl = diagnostics["kl_divergence"]
        shared = [j for j in range(10) if j not in independent]
        self.assertAllEqual(kl[:, shared], np.zeros((32, 6)))
        # (m1 - m2)^2 (1/v1 + 1/v2) / 4 with |m1 - m2| = 4 * 0.5, v = e^-2.
        self.assertAllClose(kl[:, list(independent)], np.full((32, 4), 2 * np.exp(2.0)),
                            rtol=1e-4)
        self.assertAllEqual(diagnostics["num_low_kl"], np.full(32, 6.0))
        # Every dim is active: mean^2 / 2 + (e^-2 + 2 - 1) / 2 >= 0.57 nats.
        self.assertAllGreater(diagnostics["kl_to_prior"], 0.5)
        self.assertAllEqual(diagnostics["num_low_kl_active"], np.full(32, 6.0))
        outputs = model.aggregation(tf.constant(kl, tf.float32), training=False)
        self.assertAllClose(diagnostics["num_shared"], outputs["num_shared"])
        if method == "adaptive":
            self.assertNotIn("size_logit_gap", diagnostics)
        else:
            log_weights = outputs["log_weights"].numpy()
            self.assertAllClose(diagnostics["size_logit_gap"],
                                log_weights[:, 0] - log_weights[:, 1], atol=1e-5)

    def test_separates_a_stuck_size_head_from_an_untrained_encoder(self):
        x1, x2 = _known_pairs(16, independent_dims=(0, 1, 2))
        model = self._model("drpm")
        head = model.aggregation.weights_layer
        # A saturated head: the independent logit grows with every KL.
        head.kernel.assign(np.tile([[10.0, -10.0]], (10, 1)).astype(np.float32))
        stuck = wsm.summarize_shared_dimension_diagnostics(
            wsm.shared_dimension_diagnostics(model, x1, x2))
        self.assertEqual(stuck["num_low_kl_mean"], 7.0)
        self.assertEqual(stuck["num_shared_mean"], 0.0)
        self.assertGreater(stuck["size_logit_gap_mean"], 100.0)
        self.assertEqual(stuck["num_shared_histogram"][0], 1.0)
        self.assertAllClose(sum(stuck["num_low_kl_histogram"]), 1.0)
        self.assertEqual(stuck["num_low_kl_histogram"][7], 1.0)
        self.assertEqual(stuck["num_active_dims"], 10)
        # Views the encoder cannot tell apart (a collapsed encoder): every dim
        # agrees, none is active.
        model = self._model("drpm", encoder=_CollapsedEncoder())
        collapsed = wsm.summarize_shared_dimension_diagnostics(
            wsm.shared_dimension_diagnostics(model, x1, x2))
        self.assertEqual(collapsed["num_low_kl_mean"], 10.0)
        self.assertEqual(collapsed["num_low_kl_active_mean"], 0.0)
        self.assertEqual(collapsed["num_active_dims"], 0)

    def test_draws_no_random_numbers(self):
        x1, x2 = _known_pairs(4, independent_dims=(3,))
        model = self._model("drpm")
        generators = (model.seed_generator,
                      model.aggregation.random_partition.seed_generator)
        states = [g.state.numpy().copy() for g in generators]
        wsm.shared_dimension_diagnostics(model, x1, x2)
        for before, generator in zip(states, generators):
            self.assertAllEqual(before, generator.state.numpy())

    def test_bad_threshold(self):
        model = self._model("drpm")
        x1, x2 = _known_pairs(2, independent_dims=())
        with self.assertRaisesRegex(ValueError, "threshold=0"):
            wsm.shared_dimension_diagnostics(model, x1, x2, threshold=0)


if __name__ == "__main__":
    tf.test.main()
