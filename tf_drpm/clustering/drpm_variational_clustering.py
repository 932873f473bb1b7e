"""DRPM variational clustering (DRPM-VC), Sutter et al. (2023), section 5.1."""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm import distributions as drpm_distributions
from tf_drpm.clustering._serialization import from_config_with_autoencoder
from tf_drpm.clustering._serialization import images_of
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.internal import distribute_util
from tf_drpm.models.loss_model import LossModel
from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.neural_sort import hard_sort_permutation

__all__ = ["DRPMVC"]

_KL_MODES = ("bound", "exact")
_PARTITION_WEIGHTS = ("mean_responsibilities", "nearest_prior_counts")
_COUNT_CORRECTIONS = 2
_PARTITION_MODELS = ("drpm", "nearest_prior")


@keras.saving.register_keras_serializable(package="tf_drpm")
class DRPMVC(LossModel):
    """DRPM variational clustering: a batch of images is one set to partition.

    Generative model (appendix C.1.1): a partition `Y ~ p(Y; omega, s = 0)` of
    the n images of a batch into K clusters (a DRPM with trainable prior log
    weights `prior.log_weights` and uniform scores), `z_i ~ N(means[y_i],
    scales[y_i])`, `x_i ~ Bernoulli(decoder(z_i))`. Inference:
    `q(z | x) = N(mean(x), scale(x))` from an `MLPAutoencoder` whose encoder
    trunk is frozen, and `q(Y | X)` a DRPM whose parameters come from the
    posterior-to-prior KL divergences `KL_ik = KL(q(z | x_i) || p(z | k))`
    (appendix C.1.2), computed under `stop_gradient`:

      log_scores_i  = u * (K - argmin_k KL_ik),     u = 10 ** score_scale
      log_weights_k = log( mean_i softmax_k log N(mean(x_i) | means[k], scales[k]) )

    Only the scale `u` (variable `score_scale`) receives gradients through
    them. The paper wants the most likely partition to put every image with
    its nearest prior; these weights only approximate that: Fisher's MVHG
    pulls its mode towards equal sizes and soft responsibilities differ from
    nearest-prior counts, and because the sorted images fill the subsets in
    turn one wrong size moves images across every later boundary (how often,
    on Fashion-MNIST: docs/clustering.md). `partition_weights=
    "nearest_prior_counts"` makes it exact: with
    `h_k = #{i : argmin_k' KL_ik' = k}`,

      log_weights_k = log(h_k + 1/2) - log(n - h_k + 1/2)   (+ 2 corrections)

    puts the mode of the sizes at `h`, so the noiseless partition is the
    nearest-prior assignment.

    The loss of equations (47)-(50), with L Monte Carlo partitions
    `Y_l ~ q(Y | X)` (counts `n_l`, permutation `pi_l`), divided by the global
    batch size (`set_losses` gives the sums of one set, `compute_losses` the
    per-image values the train step of `tf_drpm.models.LossModel` uses):

      loss = sum_i BCE(x_i, decoder(z_i))                              (47)
           + beta / L sum_l sum_{k,i} Y_l[k, i] KL_ik                  (48)
           + gamma / L sum_l [log |Pi_Yl| + log q(n_l; omega(X))
                              - log p(n_l; omega)]                     (49)
           + delta / L sum_l [log max_pi q(pi; s(X)) - log p(pi_l; 0)] (50)

    with `log |Pi_Y| = sum_k log n_k!` (Lemma 4.2, `kl="bound"`). With
    `kl="exact"`, (49)+(50) are replaced by the exact
    `gamma / L sum_l [log q(Y_l | X) - log p(Y_l)]` from `DRPM.log_prob`
    (`delta` is then unused).

    Several replicas (`tf.distribute`): the set is the global batch. With
    `partition_global_batch=True` (the default) each replica all-gathers the
    nearest-prior indices of its images (and, for `"mean_responsibilities"`,
    their responsibilities), so the log-scores and log-weights are those of
    the global set; every replica samples the same partitions of the global
    set with the step seed and keeps the columns of its own images; the
    set-level terms (49), (50) are shared equally between the replicas. The
    reparameterisation noise of `z_i` is drawn for the global batch and
    sliced, so it depends on `(seed, step, global index of i)` only. A
    train step on R replicas is then the single-device step on the global
    batch (same partitions, losses and updates up to floating-point
    summation order). Each replica must hold the same number of images
    (a global batch divisible by R, batched with `drop_remainder=True`).
    Per replica this all-gathers `n` int32 (plus `n * K` floats of
    responsibilities with `"mean_responsibilities"`) and R int32 sizes.

    The temperature of `q(Y | X)` is a non-trainable variable `temperature`,
    annealed by `tf_drpm.callbacks.ExponentialTemperatureSchedule`.
    Cluster predictions are `argmax_k log N(mean(x) | means[k], scales[k])`
    (as in the reference implementation).

    Args:
      autoencoder: `MLPAutoencoder` with pretrained weights.
      num_clusters: int, K.
      beta, gamma, delta: floats, weights of (48), (49), (50).
      num_partition_samples: int, L.
      kl: "bound" (Lemma 4.2, the paper) or "exact".
      initial_temperature: float, initial value of the `temperature` variable.
      initial_score_scale: float, initial `score_scale` (log10 of u).
      freeze_trunk: bool, freeze the three encoder trunk layers (the paper).
      hard: bool, straight-through hard partitions.
      noisy_counts: bool. True (the paper): each Monte Carlo partition is a full
        DRPM sample (Gumbel noise in both stages). False (the authors' code):
        the subset sizes are the noiseless relaxed MVHG mode and only the
        permutations are perturbed (Gumbel noise added to the log-scores).
      partition_weights: "mean_responsibilities" (appendix C.1.2, the paper)
        or "nearest_prior_counts" (weights whose most likely sizes are the
        nearest-prior counts of the batch, see above).
      partition_model: "drpm" (the model) or "nearest_prior", an ablation
        without any partition model: every image is assigned to its nearest
        prior (`Y[k, i] = 1` for `k = argmin_k KL_ik`, no sampling), the
        loss is (47) + (48) with that `Y` and no partition term (a point mass
        has no entropy to pay for), i.e. a hard-assignment VaDE trained with
        everything else unchanged.
      partition_global_batch: bool. True (default): under a `tf.distribute`
        strategy with several replicas the partitioned set is the global batch
        (see above). False: each replica partitions its own part of the batch
        (a set of `n / R` images), as a single device would a smaller batch.
        Either way the per-image noise is indexed by the global batch.
      seed: int, base seed of the stateless randomness.
      **kwargs: base `keras.Model` arguments.

    Call arguments:
      inputs: images `[batch, 28, 28]` or `[batch, 784]`.

    Returns:
      Per-cluster log densities of the posterior means, `[batch, K]`.

    Example:

    >>> ae = MLPAutoencoder(latent_dim=20)
    >>> model = DRPMVC(ae, num_clusters=10, beta=0.1)
    >>> model.compile(optimizer=keras.optimizers.AdamW(1e-4))
    >>> model.fit(images, batch_size=256, epochs=1)  # one set per batch
    >>> clusters = model.predict_clusters(images[:256])  # [256]
    """

    def __init__(
        self,
        autoencoder,
        num_clusters=10,
        beta=1.0,
        gamma=1.0,
        delta=0.01,
        num_partition_samples=100,
        kl="bound",
        initial_temperature=1.0,
        initial_score_scale=1.0,
        freeze_trunk=True,
        hard=True,
        noisy_counts=True,
        partition_weights="mean_responsibilities",
        partition_model="drpm",
        partition_global_batch=True,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kl not in _KL_MODES:
            raise ValueError(f"`kl` must be one of {_KL_MODES}. Received: kl={kl!r}")
        if partition_weights not in _PARTITION_WEIGHTS:
            raise ValueError(
                f"`partition_weights` must be one of {_PARTITION_WEIGHTS}. "
                f"Received: partition_weights={partition_weights!r}"
            )
        if partition_model not in _PARTITION_MODELS:
            raise ValueError(
                f"`partition_model` must be one of {_PARTITION_MODELS}. "
                f"Received: partition_model={partition_model!r}"
            )
        for name, value in (("beta", beta), ("gamma", gamma), ("delta", delta)):
            if not value >= 0:
                raise ValueError(
                    f"`{name}` must be non-negative. Received: {name}={value}"
                )
        if (
            isinstance(num_partition_samples, bool)
            or not isinstance(num_partition_samples, int)
            or num_partition_samples < 1
        ):
            raise ValueError(
                "`num_partition_samples` must be a positive integer. "
                f"Received: num_partition_samples={num_partition_samples!r}"
            )
        if not initial_temperature > 0:
            raise ValueError(
                "`initial_temperature` must be positive. Received: "
                f"initial_temperature={initial_temperature}"
            )
        if (
            isinstance(num_clusters, bool)
            or not isinstance(num_clusters, int)
            or num_clusters < 2
        ):
            raise ValueError(
                "`num_clusters` must be an integer >= 2. Received: "
                f"num_clusters={num_clusters!r}"
            )
        self.autoencoder = autoencoder
        self.num_clusters = num_clusters
        self.beta, self.gamma, self.delta = float(beta), float(gamma), float(delta)
        self.num_partition_samples = num_partition_samples
        self.kl = kl
        self.initial_temperature = float(initial_temperature)
        self.initial_score_scale = float(initial_score_scale)
        self.freeze_trunk = bool(freeze_trunk)
        self.hard = bool(hard)
        self.noisy_counts = bool(noisy_counts)
        self.partition_weights = partition_weights
        self.partition_model = partition_model
        if not isinstance(partition_global_batch, bool):
            raise ValueError(
                "`partition_global_batch` must be a bool. Received: "
                f"partition_global_batch={partition_global_batch!r}"
            )
        self.partition_global_batch = partition_global_batch
        self.seed = int(seed)
        self.prior = GaussianMixturePrior(
            num_clusters, autoencoder.latent_dim, name="prior"
        )
        if self.freeze_trunk:
            self.autoencoder.trunk.trainable = False
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
        )
        self.score_scale = self.add_weight(
            name="score_scale",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_score_scale),
            trainable=True,
        )
        self.add_step_counter()
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "loss",
                "reconstruction",
                "kl_z",
                "kl_counts",
                "kl_permutation",
                "kl_partition",
                "off_nearest_prior",
                "size_error",
                "log_score_scale",
            )
        }

    def build(self, input_shape=None):
        if not self.autoencoder.built:
            self.autoencoder.build()
        self.prior.build()
        self.built = True

    def call(self, inputs, training=False):
        mean, _ = self.autoencoder.encode(inputs, training=training)
        return self.prior.log_prob_components(mean)

    def predict_clusters(self, images):
        """Cluster index per image, `argmax_k log N(mean(x) | k)`, `[batch]`."""
        return tf.argmax(self(images), axis=-1, output_type=tf.int32)

    def partition_parameters(self, mean, log_scale, batch=None):
        """`(log_weights [K], log_scores [n], kl [b, K])` of `q(Y | X)`.

        `log_weights` and the integer part of `log_scores` are computed under
        `stop_gradient`; `log_scores` depends on `score_scale` only.

        Args:
          mean, log_scale: `[b, latent_dim]`, `q(z | x)` of this replica's
            `b` images.
          batch: optional `GlobalBatch` of these images (from
            `tf_drpm.internal.distribute_util.global_batch`). With several
            replicas, the log-scores and log-weights are those of the global
            set of `n` images (all-gathered nearest-prior indices and
            responsibilities). Default (`None`): the set is these `b` images
            (`n = b`).

        Returns:
          `log_weights` `[K]` and `log_scores` `[n]` of the set, and `kl`
          `[b, K]`, the posterior-to-prior KL divergences of these images.
        """
        return self._partition_parameters(mean, log_scale, batch)[:3]

    def _partition_parameters(self, mean, log_scale, batch=None):
        """`partition_parameters` and the nearest priors `[b]` and `[n]`
        (this replica's images and the set's)."""
        if batch is None:
            batch = distribute_util.GlobalBatch(None, 0, tf.shape(mean)[0], tf.shape(mean)[0])
        kl = self.prior.kl_divergence(mean, log_scale)  # [b, K]
        local_nearest = tf.argmin(tf.stop_gradient(kl), axis=-1, output_type=tf.int32)
        nearest = batch.gather(local_nearest)  # [n]
        ranks = tf.cast(self.num_clusters - nearest, kl.dtype)  # K .. 1
        log_scores = ranks * tf.pow(
            tf.constant(10.0, kl.dtype), tf.cast(self.score_scale, kl.dtype)
        )
        if self.partition_weights == "nearest_prior_counts":
            log_weights = self._nearest_counts_log_weights(nearest, kl.dtype)
        else:
            log_density = tf.stop_gradient(self.prior.log_prob_components(mean))
            responsibilities = batch.gather(tf.nn.softmax(log_density, axis=-1))  # [n, K]
            log_weights = tf.math.log(tf.reduce_mean(responsibilities, axis=0) + 1e-6)
        return log_weights, log_scores, kl, local_nearest, nearest

    def _nearest_counts_log_weights(self, nearest, dtype):
        """Log weights whose noiseless subset sizes are the nearest-prior counts.

        Fisher's MVHG with K groups of n items has its joint mode at h when
        `w_k (n - h_k) / h_k` is the same for every k, so `w_k = h_k / (n - h_k)`
        (1/2 added so the mode lies inside its cell and h_k = 0 is allowed).
        The relaxed sampler takes the sizes one group at a time, whose mode can
        miss h by one; two corrections of `log w` by the miss make them equal.
        """
        counts = tf.reduce_sum(tf.one_hot(nearest, self.num_clusters, dtype=dtype), 0)
        n = float(nearest.shape[0])  # static, as the DRPM needs it

        def logit(c):
            return tf.math.log(c + 0.5) - tf.math.log(n - c + 0.5)

        target = logit(counts)
        log_weights = target
        for _ in range(_COUNT_CORRECTIONS):
            mode = drpm_distributions.RelaxedMultivariateNoncentralHypergeometric(
                total_count=n,
                group_sizes=[n] * self.num_clusters,
                log_weights=log_weights,
                temperature=tf.constant(1.0, dtype),
                hard=True,
            ).noiseless_counts()
            log_weights = log_weights + target - logit(mode)
        return tf.stop_gradient(log_weights)

    def posterior_partition(self, log_weights, log_scores):
        """The relaxed DRPM `q(Y | X)` at the current temperature (its exact
        distribution is `.exact`)."""
        return drpm_distributions.RelaxedDRPM(
            log_weights=log_weights,
            log_scores=log_scores,
            temperature=tf.cast(self.temperature, log_scores.dtype),
            hard=self.hard,
        )

    def prior_partition(self, num_elements, dtype=tf.float32):
        """The (exact) DRPM prior `p(Y; omega, s = 0)` over `num_elements` elements."""
        return drpm_distributions.DRPM(
            log_weights=tf.cast(self.prior.log_weights, dtype),
            log_scores=tf.zeros([num_elements], dtype),
        )

    def compute_losses(self, data, seed=None, training=False):
        """Loss terms per image: `set_losses` divided by the set size; a dict of
        scalars (with `log_score_scale`, tracked).

        With several replicas and `partition_global_batch`, the divisor is the
        global set size over the number of replicas, so that the train step's
        `scale_loss` (a further division by the number of replicas) makes the
        replicas' losses sum to the single-device loss of the global batch.
        """
        images = self.autoencoder.flatten(images_of(data))
        sums, batch = self._set_losses(images, seed, training)
        if self.partition_global_batch:
            size = tf.cast(batch.size, sums["loss"].dtype) / batch.num_replicas
        else:
            size = tf.cast(batch.local_size, sums["loss"].dtype)
        losses = {name: value / size for name, value in sums.items()}
        losses["log_score_scale"] = self.score_scale
        return losses

    def set_losses(self, images, seed, training=False):
        """Loss terms of one set (sums over its elements); a dict of scalars.

        Under a strategy with several replicas and `partition_global_batch`,
        the set is the global batch, `images` this replica's part of it, and
        the terms this replica's share: the sums over its own images of the
        per-image terms plus `1 / num_replicas` of the set-level terms, so
        that their sum over the replicas is the sums of the whole set.
        """
        return self._set_losses(self.autoencoder.flatten(images), seed, training)[0]

    def _global_batch(self, images):
        """The `GlobalBatch` of this replica's images (sizes all-gathered)."""
        context = distribute_util.replica_context()
        if (context is not None and self.partition_global_batch
                and self.partition_model == "drpm" and images.shape[0] is None):
            raise ValueError(
                "DRPM-VC partitions the global batch, whose size must be static and "
                "the same on every replica: batch the dataset with "
                "`drop_remainder=True` and a global batch size that divides by the "
                f"number of replicas ({context.num_replicas_in_sync}). Received: a "
                f"replica batch of shape {images.shape}")
        return distribute_util.global_batch(
            tf.shape(images)[0], static_local_size=images.shape[0])

    def _partitioned_set(self, batch, images):
        """The set partitioned: the global batch, or this replica's images."""
        if self.partition_global_batch:
            return batch
        return distribute_util.GlobalBatch(
            None, 0, batch.local_size, batch.local_size, images.shape[0])

    def _set_losses(self, images, seed, training):
        """`(set_losses, GlobalBatch of the images)`."""
        batch = self._global_batch(images)
        partitioned = self._partitioned_set(batch, images)
        seed_z, seed_y = tfp.random.split_seed(seed, n=2, salt="drpm_vc")
        mean, log_scale = self.autoencoder.encode(images, training=training)
        # Noise of the global batch's rows: a function of (seed, global index).
        noise = batch.normal(tf.shape(mean), seed_z, dtype=mean.dtype)
        latents = mean + tf.exp(log_scale) * noise
        logits = self.autoencoder.decode_logits(latents, training=training)
        reconstruction = tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
        )

        if self.partition_model == "nearest_prior":
            # No partition model: its parameters are not needed.
            kl = self.prior.kl_divergence(mean, log_scale)  # [b, K]
            nearest = tf.argmin(tf.stop_gradient(kl), axis=-1, output_type=tf.int32)
            kl_z = tf.reduce_sum(tf.gather(kl, nearest, axis=1, batch_dims=1))
            zero = tf.zeros_like(kl_z)
            return {
                "loss": reconstruction + self.beta * kl_z,
                "reconstruction": reconstruction,
                "kl_z": kl_z,
                "kl_counts": zero,
                "kl_permutation": zero,
                "kl_partition": zero,
                "off_nearest_prior": zero,
                "size_error": zero,
            }, batch
        log_weights, log_scores, kl, local_nearest, nearest = self._partition_parameters(
            mean, log_scale, partitioned
        )  # [K], [n], [b, K], [b], [n]
        num_elements = log_scores.shape[-1]
        if num_elements is None:
            num_elements = tf.shape(log_scores)[-1]
        posterior = self.posterior_partition(log_weights, log_scores)
        samples = self._sample_posterior(posterior, seed_y)
        partition = samples["partition"]  # [L, K, n]
        counts = samples["counts"]  # [L, K]
        own_columns = partitioned.take_local(partition, axis=-1)  # [L, K, b]
        kl_z = tf.reduce_mean(tf.einsum("lki,ik->l", own_columns, kl))
        prior = self.prior_partition(num_elements, mean.dtype)
        if self.kl == "bound":
            log_num_orderings = tf.reduce_sum(tf.math.lgamma(counts + 1.0), -1)  # [L]
            kl_counts = tf.reduce_mean(
                log_num_orderings
                + posterior.exact.counts_log_prob(counts)
                - prior.counts_log_prob(counts)
            )
            max_permutation = hard_sort_permutation(log_scores)  # [n, n]
            # The prior scores are all equal: p(pi; 0) = 1 / n! for every pi.
            log_prior_permutation = -tf.math.lgamma(
                tf.cast(num_elements, mean.dtype) + 1.0
            )
            kl_permutation = (
                posterior.exact.permutation_log_prob(max_permutation)
                - log_prior_permutation
            )
            kl_partition = kl_counts + kl_permutation
            partition_term = self.gamma * kl_counts + self.delta * kl_permutation
        else:
            kl_partition = tf.reduce_mean(
                posterior.exact.log_prob(partition) - prior.log_prob(partition)
            )
            kl_counts = tf.zeros_like(kl_partition)
            kl_permutation = tf.zeros_like(kl_partition)
            partition_term = self.gamma * kl_partition
        off_nearest_prior, size_error = self._distance_to_nearest_prior(
            own_columns, posterior, local_nearest, nearest, counts)
        # The set-level terms are the same on every replica: each adds its share.
        share = partitioned.replica_share
        total = reconstruction + self.beta * kl_z + share(partition_term)
        return {
            "loss": total,
            "reconstruction": reconstruction,
            "kl_z": kl_z,
            "kl_counts": share(kl_counts),
            "kl_permutation": share(kl_permutation),
            "kl_partition": share(kl_partition),
            "off_nearest_prior": off_nearest_prior,
            "size_error": share(size_error),
        }, batch

    def _distance_to_nearest_prior(self, own_columns, posterior, local_nearest, nearest,
                                   counts):
        """How far `q(Y | X)` is from the nearest-prior assignment (no gradient).

        Returns `(off, size_error)`: `off`, the sum over this replica's images
        of the share of the L partitions that put the image in another subset
        than its nearest prior; `size_error`, the number of images of the set
        that the noiseless subset sizes misplace, `sum_k |m_k - h_k| / 2`, for
        the noiseless sizes `m` and the nearest-prior counts `h`. Divided by
        the set size (as `compute_losses` does), both are shares of images:
        the `off_nearest_prior` and `size_error` that `fit` reports.
        `local_nearest` `[b]` and `nearest` `[n]` are the nearest priors of
        this replica's images and of the set's. `counts` `[L, K]` are the
        sizes of the L partitions: with noiseless counts they are the
        noiseless sizes, which are then not recomputed.
        """
        dtype = own_columns.dtype
        assigned = tf.argmax(tf.stop_gradient(own_columns), axis=1,
                             output_type=tf.int32)  # [L, b]
        off = tf.reduce_sum(tf.reduce_mean(
            tf.cast(tf.not_equal(assigned, local_nearest[None]), dtype), axis=0))
        num_elements = tf.cast(tf.shape(nearest)[0], dtype)
        target = tf.reduce_sum(tf.one_hot(nearest, self.num_clusters, dtype=dtype), 0)
        if not self.noisy_counts:
            return off, 0.5 * tf.reduce_sum(tf.abs(tf.stop_gradient(counts[0]) - target))
        sizes = drpm_distributions.RelaxedMultivariateNoncentralHypergeometric(
            total_count=num_elements,
            group_sizes=tf.fill([self.num_clusters], num_elements),
            log_weights=tf.stop_gradient(posterior.log_weights),
            temperature=tf.cast(self.temperature, dtype),
            hard=True,
            max_count=nearest.shape[0],
        ).noiseless_counts()
        return off, 0.5 * tf.reduce_sum(tf.abs(sizes - target))

    def _sample_posterior(self, posterior, seed):
        """The L partitions `Y_l ~ q(Y | X)` of the set: details with
        `partition` `[L, K, n]` and `counts` `[L, K]`."""
        if self.noisy_counts:
            return posterior.sample_with_details(
                self.num_partition_samples, seed=seed, return_permutation=False
            )
        # Noiseless subset sizes, Gumbel-perturbed orderings: a deterministic
        # DRPM per perturbed copy of the log-scores.
        log_scores = posterior.log_scores
        num_elements = log_scores.shape[-1]
        if num_elements is None:
            num_elements = tf.shape(log_scores)[-1]
        perturbed = log_scores + sample_gumbel(
            [self.num_partition_samples, num_elements],
            seed=seed,
            dtype=log_scores.dtype,
        )  # [L, n]
        return self.posterior_partition(
            posterior.log_weights, perturbed
        ).noiseless_partition_with_details(return_permutation=False)

    def sample_partitions(self, images, seed, training=False):
        """The partitions of the set that a step with `seed` uses.

        Args:
          images: this replica's images `[b, 28, 28]` or `[b, 784]` (the whole
            set on one device).
          seed: int tensor `[2]`, the step seed (as given to `set_losses`).
          training: bool, passed to the encoder.

        Returns:
          The columns of these images of the L partitions `Y_l ~ q(Y | X)`,
          `[L, K, b]` (with `partition_model="nearest_prior"`, the
          nearest-prior assignment, `[1, K, b]`). With several replicas and
          `partition_global_batch`, the partitions are of the global set and
          the replicas' columns, concatenated in replica order, are the
          partitions one device draws for the global batch.
        """
        images = self.autoencoder.flatten(images)
        partitioned = self._partitioned_set(self._global_batch(images), images)
        _, seed_y = tfp.random.split_seed(seed, n=2, salt="drpm_vc")
        mean, log_scale = self.autoencoder.encode(images, training=training)
        log_weights, log_scores, kl = self.partition_parameters(mean, log_scale, partitioned)
        if self.partition_model == "nearest_prior":
            nearest = tf.argmin(kl, axis=-1, output_type=tf.int32)
            return tf.transpose(tf.one_hot(nearest, self.num_clusters, dtype=kl.dtype))[None]
        samples = self._sample_posterior(self.posterior_partition(log_weights, log_scores), seed_y)
        return partitioned.take_local(samples["partition"], axis=-1)

    def generate(self, num_elements, seed):
        """Samples a partition from the prior and images for its elements.

        Args:
          num_elements: int, number of elements n of the sampled set.
          seed: int tensor `[2]`.

        Returns:
          A dict with `partition` `[K, n]`, `clusters` `[n]` int32 and `images`
          `[n, input_dim]` (Bernoulli means of the decoder).
        """
        seed_y, seed_z = tfp.random.split_seed(seed, n=2, salt="drpm_vc_generate")
        partition = self.prior_partition(num_elements).sample(seed=seed_y)
        clusters = tf.argmax(partition, axis=0, output_type=tf.int32)
        means = tf.gather(self.prior.means, clusters)
        scales = tf.exp(tf.gather(self.prior.log_scales, clusters))
        latents = means + scales * tf.random.stateless_normal(
            tf.shape(means), seed=seed_z
        )
        images = tf.sigmoid(self.autoencoder.decode_logits(latents))
        return {"partition": partition, "clusters": clusters, "images": images}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "autoencoder": keras.saving.serialize_keras_object(self.autoencoder),
                "num_clusters": self.num_clusters,
                "beta": self.beta,
                "gamma": self.gamma,
                "delta": self.delta,
                "num_partition_samples": self.num_partition_samples,
                "kl": self.kl,
                "initial_temperature": self.initial_temperature,
                "initial_score_scale": self.initial_score_scale,
                "freeze_trunk": self.freeze_trunk,
                "hard": self.hard,
                "noisy_counts": self.noisy_counts,
                "partition_weights": self.partition_weights,
                "partition_model": self.partition_model,
                "partition_global_batch": self.partition_global_batch,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return from_config_with_autoencoder(cls, config)
