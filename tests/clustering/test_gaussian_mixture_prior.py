"""Tests of GaussianMixturePrior (log densities, KL, GMM refit by assignment)."""

import keras
import numpy as np
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from tests.keras_round_trip import check_keras_file_round_trip
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior

tfd = tfp.distributions


class GaussianMixturePriorTest(tf.test.TestCase):
    def _prior(self, k=3, l=4, seed=0):
        prior = GaussianMixturePrior(k, l)
        prior.build()
        rng = np.random.RandomState(seed)
        prior.assign_parameters(rng.randn(k), rng.randn(k, l), 0.3 * rng.randn(k, l))
        return prior, rng

    def test_log_prob_components_matches_scipy(self):
        prior, rng = self._prior()
        z = rng.randn(5, 4).astype(np.float32)
        expected = np.stack(
            [
                stats.norm.logpdf(
                    z, prior.means.numpy()[k], np.exp(prior.log_scales.numpy()[k])
                ).sum(-1)
                for k in range(3)
            ],
            axis=-1,
        )
        self.assertAllClose(prior(z), expected, rtol=1e-5, atol=1e-5)

    def test_kl_divergence_matches_tfp(self):
        prior, rng = self._prior()
        mean = rng.randn(5, 4).astype(np.float32)
        log_scale = (0.5 * rng.randn(5, 4)).astype(np.float32)
        q = tfd.MultivariateNormalDiag(mean[:, None], np.exp(log_scale)[:, None])
        p = tfd.MultivariateNormalDiag(
            prior.means.numpy()[None], np.exp(prior.log_scales.numpy())[None]
        )
        self.assertAllClose(
            prior.kl_divergence(mean, log_scale),
            tfd.kl_divergence(q, p),
            rtol=1e-4,
            atol=1e-4,
        )

    def test_log_prob_and_kl_equal_tfp_normals(self):
        # The diagonal Gaussians of the prior are tfd.Normal components: the
        # log-densities and the KLs equal TFP's (float32 rounding).
        prior, rng = self._prior()
        z = rng.randn(6, 4).astype(np.float32)
        log_scale = (0.5 * rng.randn(6, 4)).astype(np.float32)
        components = tfd.Independent(
            tfd.Normal(prior.means, tf.exp(prior.log_scales)), reinterpreted_batch_ndims=1)
        self.assertAllClose(prior.log_prob_components(z),
                            components.log_prob(z[:, None, :]), rtol=1e-6, atol=1e-5)
        posterior = tfd.Independent(
            tfd.Normal(z[:, None, :], np.exp(log_scale)[:, None, :]),
            reinterpreted_batch_ndims=1)
        self.assertAllClose(prior.kl_divergence(z, log_scale),
                            tfd.kl_divergence(posterior, components), rtol=1e-6, atol=1e-5)

    def test_refit_assigns_existing_variables_and_recovers_clusters(self):
        prior = GaussianMixturePrior(3, 2)
        prior.build()
        variables = [prior.means, prior.log_scales, prior.log_weights]
        rng = np.random.RandomState(1)
        centers = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
        sizes = [300, 600, 900]
        points = np.concatenate(
            [c + 0.5 * rng.randn(s, 2) for c, s in zip(centers, sizes)]
        )
        prior.refit(points, seed=0, n_init=2)
        # Same variable objects (an optimizer tracking them keeps training them).
        self.assertIs(prior.means, variables[0])
        self.assertIs(prior.log_weights, variables[2])
        order = np.argsort(prior.means.numpy()[:, 0] + 0.01 * prior.means.numpy()[:, 1])
        self.assertAllClose(prior.means.numpy()[order], centers, atol=0.15)
        self.assertAllClose(
            np.exp(prior.log_scales.numpy()), 0.5 * np.ones((3, 2)), atol=0.08
        )
        weights = np.exp(prior.log_weights.numpy()[order])
        self.assertAllClose(weights, np.array(sizes) / 1800.0, atol=0.01)
        # An optimizer created before the refit still updates the refitted values.
        optimizer = keras.optimizers.SGD(0.1)
        optimizer.build(variables)
        before = prior.means.numpy().copy()
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(prior.means)
        optimizer.apply_gradients(
            zip(tape.gradient(loss, [prior.means]), [prior.means])
        )
        self.assertAllClose(prior.means.numpy(), before - 0.1)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "num_components=0"):
            GaussianMixturePrior(0, 2)
        prior = GaussianMixturePrior(2, 3)
        prior.build()
        with self.assertRaisesRegex(ValueError, r"embeddings.shape=\(4, 2\)"):
            prior.refit(np.zeros((4, 2)))
        with self.assertRaisesRegex(ValueError, "non-finite"):
            prior.refit(np.full((4, 3), np.nan))

    def test_config_round_trip(self):
        prior = GaussianMixturePrior(4, 5, name="p")
        clone = GaussianMixturePrior.from_config(prior.get_config())
        self.assertEqual((clone.num_components, clone.latent_dim), (4, 5))

    def test_keras_file_round_trip(self):
        prior = GaussianMixturePrior(3, 4, name="prior")
        check_keras_file_round_trip(
            self, prior, np.random.RandomState(2).randn(5, 4).astype(np.float32))


if __name__ == "__main__":
    tf.test.main()
