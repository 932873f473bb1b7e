"""Tests of the VaDE baseline: loss terms against numpy, one optimisation step."""

import keras
import numpy as np
from scipy import special
from scipy import stats
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder
from tf_drpm.clustering.vade import VaDE

tfd = tfp.distributions


def _model(freeze_trunk):
    ae = MLPAutoencoder(latent_dim=3, trunk_units=(16, 8))
    ae.build()
    model = VaDE(ae, num_clusters=4, freeze_trunk=freeze_trunk, seed=2)
    model.build()
    rng = np.random.RandomState(0)
    model.prior.assign_parameters(rng.randn(4), rng.randn(4, 3), 0.2 * rng.randn(4, 3))
    return model


class VaDETest(tf.test.TestCase):
    def test_loss_terms_match_numpy(self):
        model = _model(False)
        x = np.random.RandomState(1).uniform(size=(5, 784)).astype(np.float32)
        seed = tf.constant([3, 4], tf.int32)
        losses = model.compute_losses(x, seed, training=False)
        mean, log_scale = [
            t.numpy().astype(np.float64) for t in model.autoencoder.encode(x)
        ]
        noise = tf.random.stateless_normal(mean.shape, seed=seed).numpy()
        z = mean + np.exp(log_scale) * noise
        logits = model.autoencoder.decode_logits(z.astype(np.float32)).numpy()
        bce = (
            np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
        ).sum(-1)
        mu_k = model.prior.means.numpy()
        s_k = np.exp(model.prior.log_scales.numpy())
        log_pi = special.log_softmax(model.prior.log_weights.numpy())
        log_joint = log_pi + np.stack(
            [stats.norm.logpdf(z, mu_k[k], s_k[k]).sum(-1) for k in range(4)], -1
        )
        gamma = special.softmax(log_joint, axis=-1)
        s = np.exp(log_scale)
        kl = np.stack(
            [
                (
                    np.log(s_k[k] / s)
                    + (s**2 + (mean - mu_k[k]) ** 2) / (2 * s_k[k] ** 2)
                    - 0.5
                ).sum(-1)
                for k in range(4)
            ],
            -1,
        )
        kl_z = (gamma * kl).sum(-1)
        kl_c = (gamma * (np.log(gamma) - log_pi)).sum(-1)
        self.assertAllClose(losses["reconstruction"], bce.mean(), rtol=1e-4)
        self.assertAllClose(losses["kl_z"], kl_z.mean(), rtol=1e-4, atol=1e-4)
        self.assertAllClose(losses["kl_c"], kl_c.mean(), rtol=1e-4, atol=1e-5)
        self.assertAllClose(
            losses["loss"], bce.mean() + kl_z.mean() + kl_c.mean(), rtol=1e-4
        )

    def test_responsibilities_equal_the_mixture_posterior(self):
        # gamma is the posterior over the components of TFP's mixture.
        model = _model(False)
        z = np.random.RandomState(2).randn(7, 3).astype(np.float32)
        prior = model.prior
        mixture = tfd.MixtureSameFamily(
            tfd.Categorical(logits=prior.log_weights),
            tfd.Independent(tfd.Normal(prior.means, tf.exp(prior.log_scales)),
                            reinterpreted_batch_ndims=1))
        self.assertAllClose(model.responsibilities(z),
                            mixture.posterior_marginal(z).probs_parameter(),
                            rtol=1e-5, atol=1e-6)

    def test_one_step_frozen_and_unfrozen_trunk(self):
        x = np.random.RandomState(1).randint(0, 256, (16, 28, 28)).astype(np.uint8)
        for freeze in (True, False):
            model = _model(freeze)
            model.compile(optimizer=keras.optimizers.Adam(1e-2))
            trunk = [w.numpy().copy() for w in model.autoencoder.trunk.weights]
            others = {
                "mean_head": model.autoencoder.mean_head.kernel,
                "log_scale_head": model.autoencoder.log_scale_head.kernel,
                "decoder": model.autoencoder.decoder.weights[0],
                "prior_means": model.prior.means,
                "prior_log_weights": model.prior.log_weights,
            }
            before = {k: v.numpy().copy() for k, v in others.items()}
            model.fit(x, batch_size=16, epochs=1, verbose=0)
            trunk_changed = any(
                not np.allclose(w.numpy(), b)
                for w, b in zip(model.autoencoder.trunk.weights, trunk)
            )
            self.assertEqual(trunk_changed, not freeze)
            for key, value in others.items():
                self.assertNotAllClose(value.numpy(), before[key], msg=key)
            clusters = model.predict_clusters(x).numpy()
            self.assertEqual(clusters.shape, (16,))
            self.assertTrue(np.all((clusters >= 0) & (clusters < 4)))


if __name__ == "__main__":
    tf.test.main()
