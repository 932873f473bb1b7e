"""Tests of DRPMVC: partition parameters, loss terms, one optimisation step."""

from absl.testing import parameterized
import keras
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf

from tf_drpm import distributions
from tf_drpm.clustering.drpm_variational_clustering import DRPMVC
from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder

K, L_DIM = 3, 2


def _model(kl="bound", num_samples=4, gamma=1.0, delta=0.01, seed=0,
           partition_model="drpm"):
    ae = MLPAutoencoder(latent_dim=L_DIM, trunk_units=(16, 8))
    ae.build()
    ae.reset_log_scale_head(-1.0)
    model = DRPMVC(
        ae,
        num_clusters=K,
        beta=0.5,
        gamma=gamma,
        delta=delta,
        num_partition_samples=num_samples,
        kl=kl,
        partition_model=partition_model,
        seed=seed,
    )
    model.build()
    rng = np.random.RandomState(seed)
    model.prior.assign_parameters(
        rng.randn(K), 2.0 * rng.randn(K, L_DIM), 0.1 * rng.randn(K, L_DIM)
    )
    return model


def _images(n=12, seed=1):
    return np.random.RandomState(seed).uniform(size=(n, 784)).astype(np.float32)


class DRPMVCTest(tf.test.TestCase, parameterized.TestCase):
    def test_partition_parameters(self):
        model = _model()
        model.score_scale.assign(0.5)
        mean, log_scale = model.autoencoder.encode(_images())
        log_weights, log_scores, kl = model.partition_parameters(mean, log_scale)
        kl = kl.numpy()
        self.assertAllClose(kl, model.prior.kl_divergence(mean, log_scale))
        expected_scores = (K - np.argmin(kl, axis=-1)) * 10**0.5
        self.assertAllClose(log_scores, expected_scores, rtol=1e-5)
        mu_k = model.prior.means.numpy()
        s_k = np.exp(model.prior.log_scales.numpy())
        log_density = np.stack(
            [
                stats.norm.logpdf(mean.numpy(), mu_k[k], s_k[k]).sum(-1)
                for k in range(K)
            ],
            -1,
        )
        expected_weights = np.log(special.softmax(log_density, -1).mean(0) + 1e-6)
        self.assertAllClose(log_weights, expected_weights, rtol=1e-4, atol=1e-5)

    def test_bound_terms_match_lemma_4_2(self):
        # With gamma = delta = 1 the two bound terms add up to
        # upper bound of log q(Y) minus lower bound of log p(Y) (Lemma 4.2).
        model = _model(num_samples=3, gamma=1.0, delta=1.0)
        x = _images()
        seed = tf.constant([5, 6], tf.int32)
        losses = model.set_losses(x, seed, training=False)
        # Re-draw the same partitions.
        mean, log_scale = model.autoencoder.encode(x)
        log_weights, log_scores, _ = model.partition_parameters(mean, log_scale)
        import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top

        _, seed_y = tfp.random.split_seed(seed, n=2, salt="drpm_vc")
        posterior = model.posterior_partition(log_weights, log_scores)
        samples = posterior.sample_with_details(3, seed=seed_y, return_permutation=True)
        prior = model.prior_partition(12)
        _, upper_q = posterior.exact.log_prob_bounds(samples["partition"])
        lower_p, _ = prior.log_prob_bounds(samples["partition"], samples["permutation"])
        self.assertAllClose(
            losses["kl_partition"],
            tf.reduce_mean(upper_q - lower_p),
            rtol=1e-4,
            atol=1e-3,
        )

    def test_bound_is_above_exact(self):
        # Same seed, same partitions: the Lemma 4.2 estimate upper-bounds the exact
        # log q(Y) - log p(Y) for every sample, hence on average.
        x = _images()
        seed = tf.constant([7, 8], tf.int32)
        model = _model("bound", gamma=1.0, delta=1.0)
        bound = model.set_losses(x, seed, False)
        model.kl = "exact"  # same weights, same seed, same partitions
        exact = model.set_losses(x, seed, False)
        self.assertGreaterEqual(
            float(bound["kl_partition"]) + 1e-3, float(exact["kl_partition"])
        )
        self.assertAllClose(bound["kl_z"], exact["kl_z"])
        self.assertAllClose(bound["reconstruction"], exact["reconstruction"])

    def test_exact_term_is_drpm_log_prob(self):
        model = _model("exact", num_samples=2)
        x = _images(8)
        seed = tf.constant([1, 9], tf.int32)
        losses = model.set_losses(x, seed, training=False)
        mean, log_scale = model.autoencoder.encode(x)
        log_weights, log_scores, kl = model.partition_parameters(mean, log_scale)
        import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top

        _, seed_y = tfp.random.split_seed(seed, n=2, salt="drpm_vc")
        posterior = model.posterior_partition(log_weights, log_scores)
        partition = posterior.sample_with_details(2, seed=seed_y)["partition"]
        expected = tf.reduce_mean(
            posterior.exact.log_prob(partition)
            - model.prior_partition(8).log_prob(partition)
        )
        self.assertAllClose(losses["kl_partition"], expected, rtol=1e-4, atol=1e-4)
        self.assertAllClose(
            losses["kl_z"],
            tf.reduce_mean(tf.einsum("lki,ik->l", partition, kl)),
            rtol=1e-5,
        )

    @parameterized.parameters(True, False)
    def test_distance_to_nearest_prior(self, noisy_counts):
        # The two diagnostics against a direct count on the same partitions.
        model = _model(num_samples=5)
        model.noisy_counts = noisy_counts
        x = _images(12)
        seed = tf.constant([3, 4], tf.int32)
        losses = model.compute_losses(x, seed=seed, training=False)
        partitions = model.sample_partitions(x, seed).numpy()  # [L, K, n]
        mean, log_scale = model.autoencoder.encode(x)
        log_weights, _, kl = model.partition_parameters(mean, log_scale)
        nearest = np.argmin(kl.numpy(), axis=-1)
        assigned = np.argmax(partitions, axis=1)  # [L, n]
        self.assertAllClose(losses["off_nearest_prior"], np.mean(assigned != nearest[None]))
        sizes = distributions.RelaxedMultivariateNoncentralHypergeometric(
            total_count=12.0, group_sizes=[12.0] * K, log_weights=log_weights,
            temperature=1.0, hard=True).noiseless_counts().numpy()
        target = np.bincount(nearest, minlength=K)
        self.assertAllClose(losses["size_error"], np.abs(sizes - target).sum() / 2 / 12)

    def test_distance_to_nearest_prior_is_zero_for_nearest_counts(self):
        # The exact weights make the noiseless sizes the nearest-prior counts;
        # without a partition model both diagnostics are 0 by construction.
        model = _model(num_samples=3)
        model.partition_weights = "nearest_prior_counts"
        model.noisy_counts = False
        losses = model.compute_losses(_images(12), seed=tf.constant([1, 2]), training=False)
        self.assertEqual(float(losses["size_error"]), 0.0)
        ablation = _model(partition_model="nearest_prior")
        losses = ablation.compute_losses(_images(12), seed=tf.constant([1, 2]), training=False)
        self.assertEqual(float(losses["off_nearest_prior"]), 0.0)
        self.assertEqual(float(losses["size_error"]), 0.0)

    def test_one_step_updates_what_it_should_and_not_the_trunk(self):
        model = _model()
        model.compile(optimizer=keras.optimizers.AdamW(1e-2))
        trainable = {v.path for v in model.trainable_variables}
        for w in model.autoencoder.trunk.weights:
            self.assertNotIn(w.path, trainable)
        trunk = [w.numpy().copy() for w in model.autoencoder.trunk.weights]
        watched = {
            "mean_head": model.autoencoder.mean_head.kernel,
            "log_scale_head": model.autoencoder.log_scale_head.kernel,
            "decoder": model.autoencoder.decoder.weights[0],
            "prior_means": model.prior.means,
            "prior_log_scales": model.prior.log_scales,
            "prior_log_weights": model.prior.log_weights,
            "score_scale": model.score_scale,
        }
        before = {k: v.numpy().copy() for k, v in watched.items()}
        temperature = float(model.temperature.numpy())
        logs = model.fit(_images(24), batch_size=12, epochs=1, verbose=0).history
        for key in ("loss", "reconstruction", "kl_z", "kl_counts", "kl_permutation"):
            self.assertTrue(np.isfinite(logs[key][0]), key)
        for w, b in zip(model.autoencoder.trunk.weights, trunk):
            self.assertAllEqual(w.numpy(), b)
        for key, value in watched.items():
            self.assertNotAllClose(value.numpy(), before[key], msg=key)
        self.assertEqual(float(model.temperature.numpy()), temperature)
        self.assertEqual(int(model.step_counter.numpy()), 2)

    def test_noiseless_counts_share_sizes_and_vary_orderings(self):
        model = _model(num_samples=6)
        model.noisy_counts = False
        x = _images(30)
        mean, log_scale = model.autoencoder.encode(x)
        log_weights, log_scores, kl = model.partition_parameters(mean, log_scale)
        losses = model.set_losses(x, tf.constant([4, 4], tf.int32), False)
        self.assertTrue(np.isfinite(float(losses["loss"])))
        # Re-draw as set_losses does: one count vector for all samples.
        import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top

        from tf_drpm.ops.gumbel import sample_gumbel  # pylint: disable=g-import-not-at-top

        _, seed_y = tfp.random.split_seed(
            tf.constant([4, 4], tf.int32), n=2, salt="drpm_vc"
        )
        perturbed = log_scores + sample_gumbel([6, 30], seed=seed_y)
        samples = model.posterior_partition(
            log_weights, perturbed
        ).noiseless_partition_with_details(return_permutation=False)
        counts = samples["counts"].numpy()
        self.assertAllEqual(counts, np.repeat(counts[:1], 6, axis=0))
        self.assertAllEqual(samples["partition"].numpy().sum(-1), counts)
        self.assertAllClose(
            losses["kl_z"],
            tf.reduce_mean(tf.einsum("lki,ik->l", samples["partition"], kl)),
            rtol=1e-5,
        )

    def _nearest_and_mode(self, partition_weights, num_elements, seed):
        num_clusters, latent_dim = 10, 4
        ae = MLPAutoencoder(latent_dim=latent_dim, trunk_units=(4,))
        ae.build()
        model = DRPMVC(
            ae, num_clusters=num_clusters, partition_weights=partition_weights
        )
        model.build()
        rng = np.random.RandomState(seed)
        model.prior.assign_parameters(
            rng.randn(num_clusters),
            3.0 * rng.randn(num_clusters, latent_dim),
            0.3 * rng.randn(num_clusters, latent_dim),
        )
        # Skewed cluster sizes: latents drawn around a few of the prior means.
        popularity = rng.dirichlet(0.7 * np.ones(num_clusters))
        centres = rng.choice(num_clusters, size=num_elements, p=popularity)
        mean = model.prior.means.numpy()[centres] + rng.randn(num_elements, latent_dim)
        log_scale = np.full_like(mean, -1.0)
        log_weights, log_scores, kl = model.partition_parameters(
            tf.constant(mean, tf.float32), tf.constant(log_scale, tf.float32)
        )
        nearest = np.argmin(kl.numpy(), axis=-1)
        sample = model.posterior_partition(
            log_weights, log_scores
        ).noiseless_partition_with_details(return_permutation=False)
        assigned = np.argmax(sample["partition"].numpy(), axis=0)
        histogram = np.bincount(nearest, minlength=num_clusters)
        return nearest, assigned, histogram, sample["counts"].numpy()

    def test_nearest_prior_counts_make_the_mode_the_nearest_assignment(self):
        for num_elements in (64, 256):
            for seed in range(6):
                nearest, assigned, histogram, counts = self._nearest_and_mode(
                    "nearest_prior_counts", num_elements, seed
                )
                self.assertAllEqual(counts, histogram)
                self.assertAllEqual(assigned, nearest)

    def test_mean_responsibilities_can_miss_the_nearest_counts(self):
        # The paper's weights: the MVHG mode is pulled towards equal sizes, so
        # some elements go to a prior other than their nearest one.
        mismatched = 0
        for seed in range(6):
            nearest, assigned, histogram, counts = self._nearest_and_mode(
                "mean_responsibilities", 256, seed
            )
            mismatched += int(np.sum(assigned != nearest))
        self.assertGreater(mismatched, 0)

    def test_nearest_prior_ablation_is_hard_assignment_without_partition_term(self):
        model = _model(partition_model="nearest_prior")
        x = _images()
        seed = tf.constant([3, 4], tf.int32)
        losses = model.set_losses(x, seed, training=False)
        mean, log_scale = model.autoencoder.encode(x)
        kl = model.prior.kl_divergence(mean, log_scale).numpy()
        self.assertAllClose(losses["kl_z"], kl.min(axis=-1).sum(), rtol=1e-5)
        self.assertEqual(float(losses["kl_partition"]), 0.0)
        self.assertAllClose(losses["loss"],
                            losses["reconstruction"] + 0.5 * losses["kl_z"], rtol=1e-6)
        with tf.GradientTape() as tape:
            loss = model.compute_losses(x, seed, training=True)["loss"]
        gradients = tape.gradient(loss, [model.score_scale, model.prior.means])
        self.assertIsNone(gradients[0])  # no partition model, no score scale
        self.assertGreater(float(tf.reduce_max(tf.abs(gradients[1]))), 0.0)
        with self.assertRaisesRegex(ValueError, "partition_model='x'"):
            _model(partition_model="x")

    def test_compute_losses_are_per_image_set_losses(self):
        model = _model()
        x = _images()
        seed = tf.constant([3, 4], tf.int32)
        sums = model.set_losses(x, seed)
        per_image = model.compute_losses(x, seed)
        self.assertEqual(set(per_image), set(sums) | {"log_score_scale"})
        for name, value in sums.items():
            self.assertAllClose(per_image[name], value / x.shape[0])
        self.assertAllClose(per_image["log_score_scale"], model.score_scale)

    def test_score_scale_gradient(self):
        model = _model(gamma=0.0, delta=0.0)
        x = _images()
        with tf.GradientTape() as tape:
            loss = model.compute_losses(x, tf.constant([2, 3], tf.int32))["loss"]
        grad = tape.gradient(loss, model.score_scale)
        self.assertIsNotNone(grad)
        self.assertTrue(np.isfinite(float(grad)))

    def test_generate(self):
        model = _model()
        out = model.generate(10, seed=tf.constant([1, 2], tf.int32))
        self.assertEqual(out["partition"].shape, (K, 10))
        self.assertAllEqual(tf.reduce_sum(out["partition"], 0), np.ones(10))
        self.assertAllEqual(
            tf.argmax(out["partition"], 0, output_type=tf.int32), out["clusters"]
        )
        self.assertEqual(out["images"].shape, (10, 784))

    def test_bad_arguments(self):
        ae = MLPAutoencoder(latent_dim=2, trunk_units=(4,))
        with self.assertRaisesRegex(ValueError, "kl='exactly'"):
            DRPMVC(ae, kl="exactly")
        with self.assertRaisesRegex(ValueError, "num_partition_samples=0"):
            DRPMVC(ae, num_partition_samples=0)
        with self.assertRaisesRegex(ValueError, "beta=-1"):
            DRPMVC(ae, beta=-1)
        with self.assertRaisesRegex(ValueError, "num_clusters=1"):
            DRPMVC(ae, num_clusters=1)
        with self.assertRaisesRegex(ValueError, "partition_weights='counts'"):
            DRPMVC(ae, partition_weights="counts")

    def test_global_batch_option_is_the_single_device_model_on_one_replica(self):
        x = _images()
        seed = tf.constant([5, 6], tf.int32)
        per_replica = _model()
        per_replica.partition_global_batch = False
        expected = per_replica.compute_losses(x, seed)
        model = _model()
        model.set_weights(per_replica.get_weights())
        self.assertTrue(model.partition_global_batch)  # DRPM-VC turns it on
        for losses in (model.compute_losses(x, seed),
                       tf.distribute.get_strategy().run(model.compute_losses, args=(x, seed))):
            self.assertSameElements(losses, expected)
            for name, value in expected.items():
                self.assertAllEqual(losses[name], value)
        self.assertTrue(model.get_config()["partition_global_batch"])
        ae = MLPAutoencoder(latent_dim=2, trunk_units=(4,))
        with self.assertRaisesRegex(ValueError, "Received: partition_global_batch=1"):
            DRPMVC(ae, partition_global_batch=1)

    @parameterized.named_parameters(("drpm", "drpm"), ("nearest_prior", "nearest_prior"))
    def test_sample_partitions_are_the_partitions_of_the_step(self, partition_model):
        model = _model(num_samples=3, partition_model=partition_model)
        x = _images()
        seed = tf.constant([7, 8], tf.int32)
        partitions = model.sample_partitions(x, seed)  # [L, K, n]
        num_samples = 3 if partition_model == "drpm" else 1
        self.assertEqual(partitions.shape, (num_samples, K, x.shape[0]))
        self.assertAllEqual(tf.reduce_sum(partitions, axis=1), np.ones((num_samples, 12)))
        mean, log_scale = model.autoencoder.encode(x)
        kl = model.prior.kl_divergence(mean, log_scale)  # [n, K]
        expected_kl_z = tf.reduce_mean(tf.einsum("lki,ik->l", partitions, kl))
        self.assertAllClose(model.set_losses(x, seed)["kl_z"], expected_kl_z, rtol=1e-5)

    def test_uses_core_drpm(self):
        model = _model()
        q = model.posterior_partition(tf.zeros([K]), tf.zeros([5]))
        self.assertIsInstance(q, distributions.RelaxedDRPM)
        self.assertIsInstance(q.exact, distributions.DRPM)
        self.assertIsInstance(model.prior_partition(5), distributions.DRPM)


if __name__ == "__main__":
    tf.test.main()
