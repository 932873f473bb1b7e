"""Tests for tf_drpm.weak_supervision.weak_vae."""

import os

from absl.testing import parameterized
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.weak_supervision.label_aggregation import LabelAggregation
from tf_drpm.weak_supervision.mpi3d_stand_in import MPI3DStandIn
from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler
from tf_drpm.weak_supervision.weak_vae import WeakVAE
from tf_drpm.weak_supervision.weak_vae import _bernoulli_nll
from tf_drpm.weak_supervision.weak_vae import _standard_normal_kl
from tf_drpm.weak_supervision.weak_vae import _symmetric_gaussian_kl

try:  # disentanglement-lib installed without its dependencies (see brief).
    from disentanglement_lib.data.ground_truth import dummy_data
except ImportError:  # pragma: no cover
    dummy_data = None

AGGREGATIONS = ("label", "adaptive", "hg", "drpm")


def _pairs(num=2, num_shared=3, seed=0):
    pairs = WeakPairSampler(MPI3DStandIn(), num_shared_factors=num_shared).sample(
        num, np.random.RandomState(seed)
    )
    return {key: pairs[key] for key in ("x1", "x2", "label")}


def _by_name(model):
    # Paths without the model's own (auto-numbered) name.
    return {
        v.path.split("/", 1)[1]: v.numpy().copy() for v in model.trainable_variables
    }


class WeakVAETest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters(*AGGREGATIONS)
    def test_one_train_step(self, aggregation):
        model = WeakVAE(aggregation, seed=1)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        model.build()
        before = _by_name(model)
        logs = model.train_on_batch(_pairs(), return_dict=True)
        self.assertEqual(
            set(logs),
            {"loss", "reconstruction_loss", "kl_loss", "partition_loss", "num_shared"},
        )
        for value in logs.values():
            self.assertTrue(np.isfinite(value))
        self.assertGreater(logs["reconstruction_loss"], 0.0)
        after = _by_name(model)
        changed = {
            path for path in before if not np.array_equal(before[path], after[path])
        }
        self.assertIn("encoder/e1/kernel", changed)
        self.assertIn("encoder/log_var/kernel", changed)
        self.assertIn("decoder/d6/kernel", changed)
        if aggregation in ("hg", "drpm"):
            # Gradients reach the dense layer of the subset sizes through the
            # straight-through masks.
            self.assertIn("aggregation/log_weights/kernel", changed)
            self.assertEqual(
                [
                    w.name
                    for w in model.non_trainable_weights
                    if w.name == "temperature"
                ],
                ["temperature"],
            )
        if aggregation == "label":
            self.assertEqual(logs["num_shared"], 9.0)

    def test_views_share_exactly_the_shared_dims_and_loss_formula(self):
        model = WeakVAE("adaptive", seed=2)
        data = _pairs(num=3)
        outputs = model(data, training=False)
        mean1, log_var1 = (t.numpy() for t in model.encoder(data["x1"]))
        mean2, log_var2 = (t.numpy() for t in model.encoder(data["x2"]))
        shared = outputs["shared_mask"].numpy().astype(bool)
        self.assertTrue(shared.any() and (~shared).any())
        # Shared dims: GVAE average of both views; others: the view's own.
        average_mean = 0.5 * (mean1 + mean2)
        average_log_var = np.log(0.5 * np.exp(log_var1) + 0.5 * np.exp(log_var2))
        for view_mean, view_log_var, mean, log_var in (
            (outputs["mean1"], outputs["log_var1"], mean1, log_var1),
            (outputs["mean2"], outputs["log_var2"], mean2, log_var2),
        ):
            self.assertAllClose(
                np.where(shared, average_mean, mean), view_mean, atol=1e-5
            )
            self.assertAllClose(
                np.where(shared, average_log_var, log_var), view_log_var, atol=1e-5
            )
        # Loss: mean Bernoulli NLL of both views + beta * mean KL to N(0, I).
        losses = model.loss_terms(data, outputs)

        def nll(x, logits):
            logits = logits.numpy().astype(np.float64)
            return np.sum(
                np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))),
                axis=(1, 2, 3),
            )

        def kl(mean, log_var):
            mean, log_var = mean.numpy(), log_var.numpy()
            return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var - 1.0, axis=1)

        reconstruction = 0.5 * (
            nll(data["x1"], outputs["logits1"]) + nll(data["x2"], outputs["logits2"])
        )
        latent_kl = 0.5 * (
            kl(outputs["mean1"], outputs["log_var1"])
            + kl(outputs["mean2"], outputs["log_var2"])
        )
        self.assertAllClose(losses["reconstruction_loss"], reconstruction, rtol=1e-5)
        self.assertAllClose(losses["kl_loss"], latent_kl, rtol=1e-4, atol=1e-6)
        self.assertAllClose(losses["loss"], reconstruction + latent_kl, rtol=1e-5)

    def test_view_reduction_sum_doubles_the_view_terms_only(self):
        data = _pairs(num=3)
        mean_model = WeakVAE("drpm", seed=4)
        sum_model = WeakVAE("drpm", seed=4, view_reduction="sum")
        mean_model.build()
        sum_model.build()
        sum_model.set_weights(mean_model.get_weights())
        outputs = mean_model(data, training=False, sample_latents=False)
        mean_losses = mean_model.loss_terms(data, outputs)
        sum_losses = sum_model.loss_terms(data, outputs)
        for key in ("reconstruction_loss", "kl_loss"):
            self.assertAllClose(sum_losses[key], 2.0 * mean_losses[key])
        self.assertAllClose(sum_losses["partition_loss"], mean_losses["partition_loss"])
        with self.assertRaisesRegex(ValueError, "view_reduction='max'"):
            WeakVAE("drpm", view_reduction="max")

    def test_sample_latents_false_decodes_the_means(self):
        model = WeakVAE("adaptive", seed=1)
        data = _pairs(num=2)
        state = model.seed_generator.state.numpy().copy()
        outputs = model(data, training=False, sample_latents=False)
        self.assertAllEqual(state, model.seed_generator.state.numpy())
        self.assertAllClose(outputs["logits1"], model.decoder(outputs["mean1"]))
        sampled = model(data, training=False)
        self.assertNotAllClose(sampled["logits1"], outputs["logits1"])

    def test_low_resolution_stand_in(self):
        data = MPI3DStandIn(image_size=32)
        self.assertEqual(data.observation_shape, [32, 32, 3])
        model = WeakVAE("drpm", observation_shape=(32, 32, 3), seed=0)
        pairs = WeakPairSampler(data, num_shared_factors=3).sample(
            4, np.random.RandomState(0))
        outputs = model({"x1": pairs["x1"], "x2": pairs["x2"]}, training=True)
        self.assertEqual(outputs["logits1"].shape, (4, 32, 32, 3))
        # The decoder keeps disentanglement_lib's layout at 64x64.
        self.assertEqual(WeakVAE("label").decoder._dense[1].units, 1024)
        self.assertEqual(model.decoder._dense[1].units, 256)

    @parameterized.parameters("float32", "float64")
    def test_symmetric_kl_matches_tfp(self, dtype):
        rng = np.random.RandomState(0)
        m1, m2, lv1, lv2 = (rng.normal(size=(4, 10)).astype(dtype) for _ in range(4))
        normal = tfp.distributions.Normal
        q1, q2 = normal(m1, np.exp(0.5 * lv1)), normal(m2, np.exp(0.5 * lv2))
        expected = 0.5 * (q1.kl_divergence(q2) + q2.kl_divergence(q1))
        self.assertAllClose(
            _symmetric_gaussian_kl(m1, lv1, m2, lv2), expected, rtol=1e-5
        )

    @parameterized.named_parameters(("binary", True), ("grey", False))
    def test_reconstruction_and_prior_kl_equal_tfp(self, binary):
        rng = np.random.RandomState(1)
        x = rng.uniform(size=(3, 8, 8, 1)).astype(np.float32)
        if binary:
            x = (x > 0.5).astype(np.float32)
        logits = rng.normal(size=(3, 8, 8, 1)).astype(np.float32)
        bernoulli = tfp.distributions.Bernoulli(logits=logits, dtype=tf.float32)
        self.assertAllClose(
            _bernoulli_nll(x, logits),
            -tfp.distributions.Independent(bernoulli, 3).log_prob(x), rtol=1e-6)
        mean, log_var = (rng.normal(size=(3, 10)).astype(np.float32) for _ in range(2))
        normal = tfp.distributions.Normal
        self.assertAllClose(
            _standard_normal_kl(mean, log_var),
            tf.reduce_sum(normal(mean, np.exp(0.5 * log_var)).kl_divergence(
                normal(0., 1.)), -1), rtol=1e-6, atol=1e-6)

    def test_product_of_experts_averaging(self):
        model = WeakVAE(LabelAggregation(0), averaging="product", seed=3)
        data = _pairs()
        outputs = model(data, training=False)  # num_independent = 0: all shared
        mean1, log_var1 = (
            t.numpy().astype(np.float64) for t in model.encoder(data["x1"])
        )
        mean2, log_var2 = (
            t.numpy().astype(np.float64) for t in model.encoder(data["x2"])
        )
        v1, v2 = np.exp(log_var1), np.exp(log_var2)
        variance = 2.0 * v1 * v2 / (v1 + v2)
        self.assertAllClose(outputs["log_var1"], np.log(variance), atol=1e-5)
        self.assertAllClose(
            outputs["mean2"], 0.5 * variance * (mean1 / v1 + mean2 / v2), atol=1e-5
        )

    def test_labels_reach_label_aggregation(self):
        model = WeakVAE(LabelAggregation(use_labels=True), seed=4)
        data = _pairs(num=4)
        outputs = model(data, training=False)
        expected = 1.0 - tf.one_hot(data["label"], 10)
        self.assertAllEqual(outputs["shared_mask"], expected)

    def test_fit_and_evaluate_in_graph_mode(self):
        # A disentanglement_lib GroundTruthData object (its DummyData) trains
        # through Keras fit as is; the stand-in replaces it when
        # disentanglement-lib is not installed.
        if dummy_data is not None:
            data, shape = dummy_data.DummyData(), (64, 64, 1)
        else:  # pragma: no cover
            data, shape = MPI3DStandIn(), (64, 64, 3)
        pairs = WeakPairSampler(data, num_changed_factors=-1)
        model = WeakVAE("adaptive", observation_shape=shape, seed=5)
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
        dataset = pairs.as_dataset(batch_size=2, seed=1)
        history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][-1]))
        logs = model.evaluate(dataset, steps=1, verbose=0, return_dict=True)
        self.assertTrue(np.isfinite(logs["loss"]))

    @parameterized.parameters("adaptive", "drpm")
    def test_float64(self, aggregation):
        model = WeakVAE(aggregation, dtype="float64", seed=9)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), run_eagerly=True)
        data = _pairs()
        outputs = model(data, training=True)
        for key in ("shared_mask", "partition_loss", "logits1", "mean2"):
            self.assertEqual(outputs[key].dtype, tf.float64, msg=key)
        logs = model.train_on_batch(data, return_dict=True)
        self.assertTrue(np.isfinite(logs["loss"]))

    def test_keras_file_round_trip(self):
        model = WeakVAE("drpm", seed=10)
        data = _pairs()
        model(data)  # builds
        model.aggregation.temperature.assign(0.7)
        path = os.path.join(self.get_temp_dir(), "weak_vae.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        self.assertIsInstance(restored, WeakVAE)
        self.assertAllClose(restored.aggregation.temperature, 0.7)
        self.assertAllClose(restored.encode(data["x1"]), model.encode(data["x1"]))
        expected = model(data, training=False)
        actual = restored(data, training=False)
        for key in ("shared_mask", "partition_loss"):
            self.assertAllClose(actual[key], expected[key])

    def test_config_round_trip(self):
        for model in (
            WeakVAE("drpm", num_latent=6, beta=2.0, seed=7),
            WeakVAE("hg", size_warmup_steps=100, warmup_num_shared=3),
            WeakVAE(LabelAggregation(2), averaging="product"),
        ):
            clone = WeakVAE.from_config(model.get_config())
            self.assertEqual(clone.get_config(), model.get_config())
            self.assertEqual(type(clone.aggregation), type(model.aggregation))

    @parameterized.parameters("hg", "drpm")
    def test_size_warmup_holds_the_sizes_then_learns_them(self, aggregation):
        # Steps 0 and 1 share exactly 7 of the 10 dims (HG: those of the 7
        # smallest divergences; the DRPM samples their order); from step 2
        # the sizes are drawn by the head again.
        model = WeakVAE(aggregation, seed=3, size_warmup_steps=2, warmup_num_shared=7)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        model.build()
        # As trainers.core.training does: HG's head has no gradient while held.
        model.optimizer.build(model.trainable_variables)
        data = _pairs(num=8)
        shared = []
        for _ in range(4):
            step = int(model.optimizer.iterations.numpy())
            outputs = model(data, training=True)
            shared.append(outputs["shared_mask"].numpy())
            if step < 2:
                divergence = outputs["kl_divergence"].numpy()
                self.assertAllEqual(shared[-1].sum(-1), np.full(8, 7.0))
                if aggregation == "hg":
                    is_shared = shared[-1] > 0.5
                    self.assertAllLessEqual(
                        np.where(is_shared, divergence, -np.inf).max(-1)
                        - np.where(is_shared, np.inf, divergence).min(-1), 0.0)
            model.train_on_batch(data)
        self.assertNotAllEqual(shared[2].sum(-1), np.full(8, 7.0))
        model_default = WeakVAE(aggregation, seed=3)
        self.assertEqual(model_default.size_warmup_steps, 0)
        self.assertEqual(model_default.warmup_num_shared, 5)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "size_warmup_steps=-1"):
            WeakVAE("drpm", size_warmup_steps=-1)
        with self.assertRaisesRegex(ValueError, "warmup_num_shared=11"):
            WeakVAE("drpm", size_warmup_steps=5, warmup_num_shared=11)
        with self.assertRaisesRegex(ValueError, "size_warmup_steps=5 with aggregation=LabelAggregation"):
            WeakVAE("label", size_warmup_steps=5)
        with self.assertRaisesRegex(ValueError, "aggregation='ada'"):
            WeakVAE("ada")
        with self.assertRaisesRegex(TypeError, "aggregation=3"):
            WeakVAE(3)
        with self.assertRaisesRegex(ValueError, "beta=-1"):
            WeakVAE("label", beta=-1)
        with self.assertRaisesRegex(ValueError, "averaging='mean'"):
            WeakVAE("label", averaging="mean")
        model = WeakVAE("label")
        model.compile(optimizer="adam", run_eagerly=True)
        data = _pairs()
        with self.assertRaisesRegex(TypeError, "trains on dicts"):
            model.train_step((data["x1"], data["x2"]))


@pytest.mark.slow
class WeakVAEGraphModeTest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters("hg", "drpm")
    def test_fit_stochastic_aggregations_in_graph_mode(self, aggregation):
        model = WeakVAE(aggregation, seed=8)
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
        dataset = WeakPairSampler(MPI3DStandIn(), num_shared_factors=3).as_dataset(
            4, seed=0
        )
        history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][-1]))


if __name__ == "__main__":
    tf.test.main()
