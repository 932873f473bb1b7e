"""Tests of the view aggregations of the weakly supervised VAE.

Each aggregation must pick the expected dimensions on hand-made divergence
vectors; the stochastic ones are checked in their deterministic mode against
the mode of Fisher's noncentral hypergeometric distribution (enumerated with
NumPy) and the exact ELBO terms.
"""

import math

from absl.testing import parameterized
import keras
import numpy as np
from scipy.special import gammaln
from scipy.special import logsumexp
import tensorflow as tf

from tests.keras_round_trip import check_keras_file_round_trip
from tf_drpm.layers import RandomPartition
from tf_drpm.weak_supervision import ConvGaussianEncoder
from tf_drpm.weak_supervision import DeconvDecoder
from tf_drpm.weak_supervision.adaptive_aggregation import AdaptiveAggregation
from tf_drpm.weak_supervision.hypergeometric_aggregation import (
    HypergeometricAggregation,
)
from tf_drpm.weak_supervision.label_aggregation import LabelAggregation
from tf_drpm.weak_supervision.partition_aggregation import PartitionAggregation

# Large divergences at dims 6 > 1 > 3 > 5 > 8 > 2 > 7 > 0 > 4 > 9.
KL = np.array([[0.1, 5.0, 0.2, 3.0, 0.05, 0.3, 8.0, 0.15, 0.25, 0.01]], np.float32)
ORDER = [6, 1, 3, 5, 8, 2, 7, 0, 4, 9]


def _shared_from_independent(independent, d=10):
    mask = np.ones(d, np.float32)
    mask[list(independent)] = 0.0
    return mask


def _log_fisher_pmf(log_weights, d=10):
    """log P(n_independent = x), x = 0..d, two groups of d items, d draws."""
    x = np.arange(d + 1)
    log_binom = gammaln(d + 1) - gammaln(x + 1) - gammaln(d - x + 1)
    logits = log_binom + log_binom[::-1] + log_weights[0] * x + log_weights[1] * (d - x)
    return logits - logsumexp(logits)


def _set_constant_log_weights(layer, kl, log_weights):
    layer(kl)  # builds
    kernel, bias = layer.weights_layer.weights
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.asarray(log_weights, np.float32))


class LabelAggregationTest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters(0, 1, 3, 10)
    def test_top_divergences_independent(self, num_independent):
        out = LabelAggregation(num_independent)(KL)
        expected = _shared_from_independent(ORDER[:num_independent])
        self.assertAllEqual(out["shared_mask"][0], expected)
        self.assertAllEqual(out["num_shared"], [10 - num_independent])
        self.assertAllEqual(out["partition_loss"], [0.0])

    def test_labels_pick_the_dimension(self):
        layer = LabelAggregation(use_labels=True)
        kl = np.repeat(KL, 3, axis=0)
        out = layer(kl, labels=np.array([4, 0, -1]))
        self.assertAllEqual(out["shared_mask"][0], _shared_from_independent([4]))
        self.assertAllEqual(out["shared_mask"][1], _shared_from_independent([0]))
        self.assertAllEqual(out["shared_mask"][2], np.ones(10))
        with self.assertRaisesRegex(ValueError, "labels=None"):
            layer(kl)

    def test_bad_arguments_and_config(self):
        with self.assertRaisesRegex(ValueError, "num_independent=-1"):
            LabelAggregation(-1)
        with self.assertRaisesRegex(ValueError, "num_independent=2"):
            LabelAggregation(2, use_labels=True)
        with self.assertRaisesRegex(ValueError, "num_independent=11"):
            LabelAggregation(11)(KL)
        layer = LabelAggregation(2)
        clone = LabelAggregation.from_config(layer.get_config())
        self.assertEqual(clone.num_independent, 2)


class AdaptiveAggregationTest(tf.test.TestCase, parameterized.TestCase):
    def test_hand_made(self):
        # min 0.01, max 8: midpoint 4.005, only dims 6 and 1 lie above.
        out = AdaptiveAggregation()(KL)
        self.assertAllEqual(out["shared_mask"][0], _shared_from_independent([6, 1]))
        self.assertAllEqual(out["num_shared"], [8.0])
        # The midpoint itself goes to the independent bin; all-equal: all shared.
        out = AdaptiveAggregation()(np.array([[0.0, 1.0, 2.0], [3.0, 3.0, 3.0]]))
        self.assertAllEqual(out["shared_mask"], [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])

    @parameterized.parameters("float32", "float64")
    def test_matches_disentanglement_lib_bins(self, dtype):
        # disentanglement_lib: independent iff histogram_fixed_width_bins(kl,
        # [min, max], nbins=2) == 1.
        kl = np.random.RandomState(0).exponential(size=(200, 10)).astype(dtype)
        out = AdaptiveAggregation(dtype=dtype)(kl)
        bins = tf.stack(
            [
                tf.histogram_fixed_width_bins(
                    row, [tf.reduce_min(row), tf.reduce_max(row)], nbins=2
                )
                for row in tf.unstack(tf.constant(kl))
            ]
        )
        self.assertAllEqual(out["shared_mask"], 1.0 - tf.cast(bins == 1, dtype))
        self.assertEqual(out["shared_mask"].dtype, dtype)


class HypergeometricAggregationTest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters((0.0, 0.0), (2.0, -1.0), (-3.0, 3.0), (0.5, 0.0))
    def test_mode_counts_and_top_divergences(self, w_independent, w_shared):
        layer = HypergeometricAggregation(seed=1)
        _set_constant_log_weights(layer, KL, [w_independent, w_shared])
        out = layer(KL, training=False)
        num_independent = int(np.argmax(_log_fisher_pmf([w_independent, w_shared])))
        self.assertAllEqual(out["counts"][0], [num_independent, 10 - num_independent])
        self.assertAllEqual(
            out["shared_mask"][0], _shared_from_independent(ORDER[:num_independent])
        )
        self.assertAllEqual(out["num_shared"], [10 - num_independent])

    def test_prior_term(self):
        layer = HypergeometricAggregation(gamma=0.5, prior_log_weights=(0.0, 1.0))
        _set_constant_log_weights(layer, KL, [2.0, -1.0])
        out = layer(KL, training=False)
        x = int(np.argmax(_log_fisher_pmf([2.0, -1.0])))
        expected = 0.5 * (
            _log_fisher_pmf([2.0, -1.0])[x] - _log_fisher_pmf([0.0, 1.0])[x]
        )
        self.assertAllClose(out["partition_loss"], [expected], atol=1e-4)

    def test_training_samples_valid_masks_with_gradients(self):
        layer = HypergeometricAggregation(seed=3)
        kl = tf.constant(
            np.random.RandomState(1).exponential(size=(64, 10)), tf.float32
        )
        with tf.GradientTape() as tape:
            out = layer(kl, training=True)
            target = tf.reduce_sum(out["shared_mask"] * tf.range(10, dtype=tf.float32))
        mask = out["shared_mask"].numpy()
        self.assertTrue(np.all((mask == 0) | (mask == 1)))
        self.assertAllEqual(mask.sum(1), out["counts"][:, 1])
        self.assertGreater(len(np.unique(mask.sum(1))), 1)  # counts vary
        grads = tape.gradient(target, layer.weights_layer.trainable_weights)
        for grad in grads:
            self.assertTrue(np.all(np.isfinite(grad)))
            self.assertGreater(np.abs(grad).sum(), 0.0)


class PartitionAggregationTest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters((0.0, 0.0), (2.0, -1.0), (-3.0, 3.0))
    def test_deterministic_partition(self, w_independent, w_shared):
        layer = PartitionAggregation(seed=1)
        _set_constant_log_weights(layer, KL, [w_independent, w_shared])
        out = layer(KL, training=False)
        log_pmf = _log_fisher_pmf([w_independent, w_shared])
        num_independent = int(np.argmax(log_pmf))
        self.assertAllEqual(out["counts"][0], [num_independent, 10 - num_independent])
        # Without noise the scores log(kl) sort the dims: the largest
        # divergences fill the independent subset.
        expected = _shared_from_independent(ORDER[:num_independent])
        self.assertAllEqual(out["shared_mask"][0], expected)
        self.assertAllEqual(out["partition"][0, 0], 1.0 - expected)
        # ELBO terms (64) and (65) with gamma = 0.25, delta = 0.01 and the
        # uniform prior: |Pi_Y| = n_0! n_1!, p(pi_Y) = 1 / 10!.
        counts = np.array([num_independent, 10 - num_independent])
        log_scores = np.log(KL[0].astype(np.float64) + np.finfo(np.float32).eps)
        ordered = np.sort(log_scores)[::-1]
        log_max_order = np.sum(ordered - np.logaddexp.accumulate(ordered[::-1])[::-1])
        expected_loss = 0.25 * (
            gammaln(counts + 1).sum()
            + log_pmf[num_independent]
            - _log_fisher_pmf([0.0, 0.0])[num_independent]
        ) + 0.01 * (log_max_order + gammaln(11))
        self.assertAllClose(
            out["partition_loss"], [expected_loss], rtol=1e-4, atol=1e-4
        )

    def test_training_gradients_reach_weights_and_scores(self):
        layer = PartitionAggregation(seed=2, temperature=0.5)
        kl = tf.constant(
            np.random.RandomState(2).exponential(size=(32, 10)), tf.float32
        )
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(kl)
            out = layer(kl, training=True)
            target = tf.reduce_sum(out["shared_mask"] * tf.range(10, dtype=tf.float32))
            loss = tf.reduce_sum(out["partition_loss"])
        mask = out["shared_mask"].numpy()
        self.assertTrue(np.all((mask == 0) | (mask == 1)))
        self.assertAllEqual(mask.sum(1), out["counts"][:, 1])
        self.assertAllEqual(out["partition"].numpy().sum(1), np.ones((32, 10)))
        self.assertTrue(np.all(np.isfinite(out["partition_loss"])))
        for grad in tape.gradient(target, layer.weights_layer.trainable_weights) + [
            tape.gradient(target, kl),
            tape.gradient(loss, kl),
        ]:
            self.assertTrue(np.all(np.isfinite(grad)))
            self.assertGreater(np.abs(grad).sum(), 0.0)
        # The partition is drawn by a RandomPartition sublayer owning the
        # temperature weight.
        self.assertIsInstance(layer.random_partition, RandomPartition)
        self.assertIs(layer.temperature, layer.random_partition.temperature)

    @parameterized.named_parameters(("drpm", PartitionAggregation),
                                    ("hg", HypergeometricAggregation))
    def test_saturating_size_head_is_bounded(self, layer_class):
        layer = layer_class(size_head_input="saturating", seed=0)
        kl = tf.constant([[0.0] * 5 + [1e6] * 5, [1.0] * 10], tf.float32)
        out = layer(kl, training=False)
        kernel, bias = (w.numpy() for w in layer.weights_layer.weights)
        features = kl.numpy() / (1.0 + kl.numpy())
        self.assertAllClose(out["log_weights"], features @ kernel + bias, rtol=1e-5)
        # |gap| <= sum_j |w_j0 - w_j1| + |b_0 - b_1| whatever the divergences.
        bound = np.abs(kernel[:, 0] - kernel[:, 1]).sum() + abs(bias[0] - bias[1])
        gap = out["log_weights"][:, 0] - out["log_weights"][:, 1]
        self.assertAllLessEqual(np.abs(gap), bound + 1e-5)
        raw = layer_class(seed=0)
        raw(kl)
        raw.weights_layer.set_weights([kernel, bias])
        raw_gap = raw(kl)["log_weights"].numpy()
        self.assertGreater(abs(raw_gap[0, 0] - raw_gap[0, 1]), 1e3)

    @parameterized.named_parameters(("drpm", PartitionAggregation),
                                    ("hg", HypergeometricAggregation))
    def test_size_head_stop_gradient(self, layer_class):
        kl = tf.constant(np.random.RandomState(3).exponential(size=(8, 10)), tf.float32)
        for stop in (False, True):
            layer = layer_class(size_head_stop_gradient=stop, seed=1)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(kl)
                out = layer(kl, training=True)
                head = tf.reduce_sum(out["log_weights"])
                masks = tf.reduce_sum(out["shared_mask"] * tf.range(10.0))
            head_gradient = tape.gradient(head, kl)
            if stop:
                self.assertIsNone(head_gradient)
            else:
                self.assertGreater(np.abs(head_gradient).sum(), 0.0)
            # The head itself still learns from the masks.
            for grad in tape.gradient(masks, layer.weights_layer.trainable_weights):
                self.assertGreater(np.abs(grad).sum(), 0.0)

    def test_float64_and_config(self):
        layer = PartitionAggregation(
            temperature=0.7, gamma=0.5, delta=0.0, seed=4, dtype="float64",
            size_head_input="saturating", size_head_stop_gradient=True,
        )
        out = layer(KL.astype(np.float64), training=True)
        self.assertEqual(out["shared_mask"].dtype, tf.float64)
        self.assertEqual([w.name for w in layer.non_trainable_weights], ["temperature"])
        self.assertAllClose(layer.temperature, 0.7)
        clone = PartitionAggregation.from_config(layer.get_config())
        self.assertEqual(clone.get_config(), layer.get_config())
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(HypergeometricAggregation(gamma=0.1))
        )
        self.assertIsInstance(restored, HypergeometricAggregation)
        self.assertEqual(restored.gamma, 0.1)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "temperature=-1"):
            PartitionAggregation(temperature=-1)
        with self.assertRaisesRegex(ValueError, "delta=-0.5"):
            PartitionAggregation(delta=-0.5)
        with self.assertRaisesRegex(ValueError, "gamma=nan"):
            HypergeometricAggregation(gamma=math.nan)
        with self.assertRaisesRegex(ValueError, "prior_log_weights"):
            PartitionAggregation(prior_log_weights=(0.0,))
        with self.assertRaisesRegex(ValueError, "size_head_input='log'"):
            HypergeometricAggregation(size_head_input="log")


class KerasFileRoundTripTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(
        ("label", lambda: LabelAggregation(2)),
        ("adaptive", AdaptiveAggregation),
        ("hg", lambda: HypergeometricAggregation(temperature=0.7, seed=1)),
        ("drpm", lambda: PartitionAggregation(temperature=0.7, seed=1,
                                              size_head_input="saturating")),
    )
    def test_keras_file_round_trip(self, make_layer):
        kl = np.random.RandomState(0).exponential(size=(4, 10)).astype(np.float32)
        check_keras_file_round_trip(self, make_layer(), kl, training=False)

    def test_encoder_and_decoder_keras_file_round_trip(self):
        rng = np.random.RandomState(1)
        check_keras_file_round_trip(
            self, ConvGaussianEncoder(6), rng.uniform(size=(2, 64, 64, 1)).astype(np.float32))
        check_keras_file_round_trip(
            self, DeconvDecoder((64, 64, 1)), rng.normal(size=(2, 6)).astype(np.float32))


if __name__ == "__main__":
    tf.test.main()
