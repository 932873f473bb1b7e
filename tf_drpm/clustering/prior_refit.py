"""Keras callback refitting a clustering model's Gaussian mixture prior."""

import keras

from tf_drpm.clustering.gmm_baselines import encode_means

__all__ = ["PriorRefit"]


class PriorRefit(keras.callbacks.Callback):
    """Refits the model's `prior` (a `GaussianMixturePrior`) every few epochs.

    At the end of every `every_epochs`-th epoch a diagonal GMM is fitted to the
    posterior means (`model.autoencoder`) of `images` and ASSIGNED to the prior
    variables, so the optimizer keeps training the refitted priors (appendix
    C.1.4 of Sutter et al., 2023, for Fashion-MNIST).

    Args:
      images: training images used for the refit.
      every_epochs: int; 0 disables the refit.
      seed: int, scikit-learn seed (plus the epoch index).
      max_points: optional int, refit on a random subset of this size.
      n_init: int, k-means++ restarts.
      reg_covar: float.
    """

    def __init__(
        self, images, every_epochs=10, seed=0, max_points=None, n_init=1, reg_covar=1e-4
    ):
        super().__init__()
        self.images = images
        self.every_epochs = int(every_epochs)
        self.seed = int(seed)
        self.max_points = max_points
        self.n_init = int(n_init)
        self.reg_covar = float(reg_covar)

    def on_epoch_end(self, epoch, logs=None):
        if self.every_epochs <= 0 or (epoch + 1) % self.every_epochs:
            return
        means = encode_means(self.model.autoencoder, self.images)
        self.model.prior.refit(
            means,
            seed=self.seed + epoch,
            n_init=self.n_init,
            reg_covar=self.reg_covar,
            max_points=self.max_points,
        )
        if logs is not None:
            logs["prior_refit"] = 1.0
