"""Gaussian mixture baselines of the clustering experiment: on pixels and on latents."""

import numpy as np

from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior

__all__ = ["encode_means", "latent_gmm_priors", "pixel_gmm_predictions"]


def encode_means(autoencoder, images, batch_size=2000):
    """Posterior means `[N, latent_dim]` (NumPy) of `images`, in batches."""
    return np.concatenate(
        [
            autoencoder.encode(images[i : i + batch_size])[0].numpy()
            for i in range(0, len(images), batch_size)
        ]
    )


def latent_gmm_priors(autoencoder, images, num_clusters, seed, n_init, max_points=None):
    """Fits the Latent GMM to the posterior means of `images`.

    Returns:
      `(gmm, parameters)`: the fitted scikit-learn mixture and the prior
      parameters `[log_weights, means, log_scales]` (NumPy) for
      `GaussianMixturePrior.assign_parameters`.
    """
    prior = GaussianMixturePrior(num_clusters, autoencoder.latent_dim)
    prior.build()
    gmm = prior.refit(
        encode_means(autoencoder, images),
        seed=seed,
        n_init=n_init,
        max_points=max_points,
    )
    parameters = [v.numpy() for v in (prior.log_weights, prior.means, prior.log_scales)]
    return gmm, parameters


def pixel_gmm_predictions(train_images, test_images, num_clusters, seed, max_points=None):
    """Clusters of `test_images` from a diagonal GMM fitted to the training pixels.

    The GMM baseline of Sutter et al. (2023), table 1: pixels scaled to [0, 1],
    k-means++ initialisation, `reg_covar=1e-3`, fitted on a seeded random
    subset of `max_points` training images if given.

    Returns:
      The predicted component of every test image, `[N_test]`.
    """
    from sklearn import mixture  # pylint: disable=g-import-not-at-top

    pixels = train_images.reshape(len(train_images), -1).astype(np.float64) / 255.0
    if max_points and len(pixels) > max_points:
        pixels = pixels[
            np.random.RandomState(seed).choice(len(pixels), max_points, replace=False)
        ]
    gmm = mixture.GaussianMixture(
        num_clusters,
        covariance_type="diag",
        init_params="k-means++",
        reg_covar=1e-3,
        random_state=seed,
    ).fit(pixels)
    return gmm.predict(test_images.reshape(len(test_images), -1).astype(np.float64) / 255.0)
