"""Weakly supervised VAE with a pluggable view aggregation (DRPM-VAE and baselines)."""

import keras
import tensorflow as tf

from tf_drpm.internal import distribute_util
from tf_drpm.models.loss_model import LossModel
from tf_drpm.weak_supervision.adaptive_aggregation import AdaptiveAggregation
from tf_drpm.weak_supervision.conv_gaussian_encoder import ConvGaussianEncoder
from tf_drpm.weak_supervision.deconv_decoder import DeconvDecoder
from tf_drpm.weak_supervision.hypergeometric_aggregation import (
    HypergeometricAggregation,
)
from tf_drpm.weak_supervision.label_aggregation import LabelAggregation
from tf_drpm.weak_supervision.partition_aggregation import PartitionAggregation
from tf_drpm.weak_supervision.view_aggregation import ViewAggregation

__all__ = ["WeakVAE"]

_AGGREGATIONS = ("label", "adaptive", "hg", "drpm")
_AVERAGING = ("group", "product")
_VIEW_REDUCTIONS = ("mean", "sum")


def _make_aggregation(name, seed, dtype):
    if name == "label":
        return LabelAggregation(name="aggregation", dtype=dtype)
    if name == "adaptive":
        return AdaptiveAggregation(name="aggregation", dtype=dtype)
    if name == "hg":
        return HypergeometricAggregation(seed=seed, name="aggregation", dtype=dtype)
    return PartitionAggregation(seed=seed, name="aggregation", dtype=dtype)


def _symmetric_gaussian_kl(mean1, log_var1, mean2, log_var2):
    """Per-dimension `(KL[q1 || q2] + KL[q2 || q1]) / 2` of diagonal Gaussians.

    Equation (68) of Sutter et al. (2023), not summed over dimensions:

    ```none
    KL_pw = (v1 / v2 + v2 / v1 + (m1 - m2)^2 (1 / v1 + 1 / v2) - 2) / 4
    ```
    """
    ratio = tf.exp(log_var1 - log_var2)
    squared = tf.square(mean1 - mean2)
    return 0.25 * (
        ratio + 1.0 / ratio + squared * (tf.exp(-log_var1) + tf.exp(-log_var2)) - 2.0
    )


@keras.saving.register_keras_serializable(package="tf_drpm")
class WeakVAE(LossModel):
    """VAE on pairs of observations that share an unknown subset of factors.

    Both observations of a pair go through one convolutional Gaussian encoder
    (disentanglement_lib's `conv_encoder`, `d = num_latent`). The view
    aggregation looks at the per-dimension symmetric divergence of the two
    posteriors (equation (68) of Sutter et al., 2023) and returns which
    dimensions are shared; shared dimensions take the averaged posterior of
    both views, the others keep their own (equations (66)-(67)). Both views
    are decoded by disentanglement_lib's `deconv_decoder` with a Bernoulli
    likelihood. The four methods of the paper differ only in the aggregation:

    * `"label"`: Label-VAE, a known number of independent factors
      (`LabelAggregation`).
    * `"adaptive"`: Ada-VAE, threshold at the midpoint of the divergence range
      (`AdaptiveAggregation`).
    * `"hg"`: HG-VAE, MVHG subset sizes, the heuristic for which dims
      (`HypergeometricAggregation`).
    * `"drpm"`: DRPM-VAE, a differentiable random partition of the dims into
      independent and shared (`PartitionAggregation`).

    Any `ViewAggregation` instance may be passed instead of a name.

    The loss per pair is that of disentanglement_lib's `GroupVAEBase` plus the
    aggregation's own term (equation (64)-(65) for the DRPM):

    ```
    loss = (rec_1 + rec_2) / 2 + beta * (KL_1 + KL_2) / 2 + partition_loss
    ```

    (`view_reduction="mean"`; with `"sum"` the two views' terms are summed as
    in equations (62)-(63) of the paper, which halves the weight of the
    partition term relative to them), with `rec_j` the Bernoulli negative log-likelihood of view `j` summed over
    pixels and `KL_j` the KL divergence of its aggregated posterior from
    `N(0, I)`. The training loss is averaged over the global batch (the train
    step of `tf_drpm.models.LossModel`).

    Args:
        aggregation: One of "label", "adaptive", "hg", "drpm", or a
            `ViewAggregation` layer. Default "drpm".
        num_latent: Positive int, latent dimension `d`. Default `10`.
        observation_shape: `(64, 64, channels)`. Default `(64, 64, 3)`.
        beta: Non-negative float weight of the latent KL. Default `1.0`.
        averaging: "group" (GVAE, arithmetic mean of means and variances) or
            "product" (ML-VAE, product of experts). Default "group".
        seed: Optional int seed of the latent sampling (and of a stochastic
            aggregation created from its name).
        view_reduction: "mean" (disentanglement_lib) or "sum" (the paper) of
            the two views' reconstruction and KL terms. Default "mean".
        size_warmup_steps: Non-negative int; HG and DRPM aggregations only:
            during the first this many optimizer steps the subset sizes are
            held at `warmup_num_shared` shared dims (the dims are still chosen
            by divergence and averaged), then learnt. Default `0` (the paper).
        warmup_num_shared: Int in `[0, num_latent]`, the shared dims held
            during the warm-up. Default `None`: `num_latent // 2`, the mode
            of the uniform prior's sizes.
        **kwargs: Base model keyword arguments.

    `fit`, `evaluate` and `train_on_batch` take dicts (e.g. the elements of
    `tf_drpm.weak_supervision.WeakPairSampler.as_dataset`); extra keys are ignored.

    Call arguments:
        inputs: A dict with `x1`, `x2` (`[batch, 64, 64, channels]`) and
            optionally `label` (`[batch]` int, for `LabelAggregation(
            use_labels=True)`), or a tuple `(x1, x2)` / `(x1, x2, label)`.
        training: Python bool.
        sample_latents: Python bool; `False` decodes the aggregated posterior
            means (deterministic reconstructions, no random stream advances).

    Returns:
        A dict with `logits1`, `logits2` (reconstruction logits), `mean1`,
        `log_var1`, `mean2`, `log_var2` (the aggregated posteriors),
        `kl_divergence` `[batch, d]` and the aggregation's outputs
        (`shared_mask`, `num_shared`, `partition_loss`, ...).

    Example:

    >>> model = WeakVAE("adaptive", observation_shape=(64, 64, 1))
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-4))
    >>> pairs = WeakPairSampler(DummyData(), num_shared_factors=3)
    >>> model.fit(pairs.as_dataset(batch_size=64, seed=0), steps_per_epoch=100)
    """

    def __init__(
        self,
        aggregation="drpm",
        num_latent=10,
        observation_shape=(64, 64, 3),
        beta=1.0,
        averaging="group",
        seed=None,
        view_reduction="mean",
        size_warmup_steps=0,
        warmup_num_shared=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (isinstance(size_warmup_steps, bool) or not isinstance(size_warmup_steps, int)
                or size_warmup_steps < 0):
            raise ValueError("Argument `size_warmup_steps` must be a non-negative int. "
                             f"Received: size_warmup_steps={size_warmup_steps!r}")
        if warmup_num_shared is None:
            warmup_num_shared = num_latent // 2
        if (isinstance(warmup_num_shared, bool) or not isinstance(warmup_num_shared, int)
                or not 0 <= warmup_num_shared <= num_latent):
            raise ValueError(
                f"Argument `warmup_num_shared` must be an int in [0, {num_latent}]. "
                f"Received: warmup_num_shared={warmup_num_shared!r}")
        if view_reduction not in _VIEW_REDUCTIONS:
            raise ValueError(
                f"Argument `view_reduction` must be one of {_VIEW_REDUCTIONS}. "
                f"Received: view_reduction={view_reduction!r}"
            )
        if isinstance(aggregation, str):
            if aggregation not in _AGGREGATIONS:
                raise ValueError(
                    f"Argument `aggregation` must be one of {_AGGREGATIONS} or a "
                    f"ViewAggregation layer. Received: aggregation={aggregation!r}"
                )
            self.aggregation_name = aggregation
            aggregation = _make_aggregation(aggregation, seed, self.dtype_policy)
        elif isinstance(aggregation, ViewAggregation):
            self.aggregation_name = None
        else:
            raise TypeError(
                f"Argument `aggregation` must be one of {_AGGREGATIONS} or a "
                f"ViewAggregation layer. Received: aggregation={aggregation!r}"
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(
                f"Argument `beta` must be a non-negative float. Received: beta={beta}"
            )
        if averaging not in _AVERAGING:
            raise ValueError(
                f"Argument `averaging` must be one of {_AVERAGING}. "
                f"Received: averaging={averaging!r}"
            )
        if size_warmup_steps and not isinstance(
                aggregation, (HypergeometricAggregation, PartitionAggregation)):
            raise ValueError(
                "Argument `size_warmup_steps` needs learnt subset sizes (an HG or DRPM "
                f"aggregation). Received: size_warmup_steps={size_warmup_steps} with "
                f"aggregation={type(aggregation).__name__}")
        self.size_warmup_steps = size_warmup_steps
        self.warmup_num_shared = warmup_num_shared
        self.aggregation = aggregation
        self.num_latent = num_latent
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.beta = float(beta)
        self.averaging = averaging
        self.seed = seed
        self.view_reduction = view_reduction
        self.encoder = ConvGaussianEncoder(
            num_latent, name="encoder", dtype=self.dtype_policy
        )
        self.decoder = DeconvDecoder(
            self.observation_shape, name="decoder", dtype=self.dtype_policy
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "loss",
                "reconstruction_loss",
                "kl_loss",
                "partition_loss",
                "num_shared",
            )
        }

    def build(self, input_shape=None):
        """Creates all weights; the input shape is fixed by `observation_shape`."""
        del input_shape
        self.encoder.build((None,) + self.observation_shape)
        self.decoder.build((None, self.num_latent))
        self.aggregation.build((None, self.num_latent))
        self.built = True

    def encode(self, x):
        """Posterior means `[batch, d]`: the representation used for evaluation."""
        return self.encoder(x)[0]

    def encode_pair(self, x1, x2):
        """Both views' posteriors and their per-dimension divergence.

        No sampling: calling it does not advance any random stream.

        Args:
            x1, x2: Float tensors `[batch, 64, 64, channels]`.

        Returns:
            A tuple `(mean1, log_var1, mean2, log_var2, kl_divergence)`, each
            `[batch, d]`; `kl_divergence` is equation (68) per dimension.
        """
        mean1, log_var1 = self.encoder(x1)
        mean2, log_var2 = self.encoder(x2)
        kl_divergence = _symmetric_gaussian_kl(mean1, log_var1, mean2, log_var2)
        return mean1, log_var1, mean2, log_var2, kl_divergence

    def call(self, inputs, training=False, sample_latents=True):
        x1, x2, labels = _unpack(inputs)
        mean1, log_var1, mean2, log_var2, kl_divergence = self.encode_pair(x1, x2)
        outputs = self._aggregate(kl_divergence, labels, training)
        shared = tf.cast(outputs["shared_mask"], mean1.dtype)  # [B, d]
        mean_avg, log_var_avg = self._average(mean1, log_var1, mean2, log_var2)
        posteriors = []
        for mean, log_var in ((mean1, log_var1), (mean2, log_var2)):
            posteriors.append(
                (
                    shared * mean_avg + (1.0 - shared) * mean,
                    shared * log_var_avg + (1.0 - shared) * log_var,
                )
            )
        (mean1, log_var1), (mean2, log_var2) = posteriors
        if sample_latents:
            logits1 = self.decoder(self._sample(mean1, log_var1))
            logits2 = self.decoder(self._sample(mean2, log_var2))
        else:
            logits1, logits2 = self.decoder(mean1), self.decoder(mean2)
        outputs.update(
            logits1=logits1,
            logits2=logits2,
            mean1=mean1,
            log_var1=log_var1,
            mean2=mean2,
            log_var2=log_var2,
            kl_divergence=kl_divergence,
        )
        return outputs

    def _aggregate(self, kl_divergence, labels, training):
        if not (training and self.size_warmup_steps and self.optimizer is not None):
            return dict(self.aggregation(kl_divergence, labels=labels, training=training))
        held = [self.num_latent - self.warmup_num_shared, self.warmup_num_shared]
        return tf.cond(
            self.optimizer.iterations < self.size_warmup_steps,
            lambda: dict(self.aggregation(
                kl_divergence, labels=labels, training=training, counts=held)),
            lambda: dict(self.aggregation(kl_divergence, labels=labels, training=training)))

    def compute_losses(self, data, seed=None, training=False):
        """Per-pair loss terms `[batch]` of a batch element (see `loss_terms`)."""
        del seed  # the latents and the aggregation draw from their seed generators
        data = _features(data)
        return self.loss_terms(data, self(data, training=training))

    def loss_terms(self, inputs, outputs):
        """Per-pair loss terms `[batch]`: a dict with `loss` and its parts."""
        x1, x2, _ = _unpack(inputs)
        dtype = outputs["logits1"].dtype
        scale = 0.5 if self.view_reduction == "mean" else 1.0
        reconstruction = scale * (
            _bernoulli_nll(tf.cast(x1, dtype), outputs["logits1"])
            + _bernoulli_nll(tf.cast(x2, dtype), outputs["logits2"])
        )
        kl = scale * (
            _standard_normal_kl(outputs["mean1"], outputs["log_var1"])
            + _standard_normal_kl(outputs["mean2"], outputs["log_var2"])
        )
        partition = tf.cast(outputs["partition_loss"], dtype)
        loss = reconstruction + self.beta * kl + partition
        return {
            "loss": loss,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
            "partition_loss": partition,
            "num_shared": outputs["num_shared"],
        }

    def _average(self, mean1, log_var1, mean2, log_var2):
        if self.averaging == "group":
            mean = 0.5 * (mean1 + mean2)
            log_var = tf.reduce_logsumexp(
                tf.stack([log_var1, log_var2]), axis=0
            ) - tf.math.log(tf.constant(2.0, mean1.dtype))
            return mean, log_var
        # Product of experts: precision-weighted, var = 2 v1 v2 / (v1 + v2).
        log_var = (
            tf.math.log(tf.constant(2.0, mean1.dtype))
            + log_var1
            + log_var2
            - tf.reduce_logsumexp(tf.stack([log_var1, log_var2]), axis=0)
        )
        mean = (
            0.5
            * tf.exp(log_var)
            * (mean1 * tf.exp(-log_var1) + mean2 * tf.exp(-log_var2))
        )
        return mean, log_var

    def _sample(self, mean, log_var):
        # The seed generator's next seed, as `keras.random.normal` casts it; the
        # noise of the global batch's rows (a function of the seed and the
        # global index, so replicas draw different noise).
        seed = tf.cast(
            tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32
        )
        noise = distribute_util.global_batch(tf.shape(mean)[0]).normal(
            tf.shape(mean), seed, dtype=mean.dtype
        )
        return mean + tf.exp(0.5 * log_var) * noise

    def get_config(self):
        aggregation = self.aggregation_name or keras.saving.serialize_keras_object(
            self.aggregation
        )
        return {
            **super().get_config(),
            "aggregation": aggregation,
            "num_latent": self.num_latent,
            "observation_shape": self.observation_shape,
            "beta": self.beta,
            "averaging": self.averaging,
            "seed": self.seed,
            "view_reduction": self.view_reduction,
            "size_warmup_steps": self.size_warmup_steps,
            "warmup_num_shared": self.warmup_num_shared,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("aggregation"), dict):
            config["aggregation"] = keras.saving.deserialize_keras_object(
                config["aggregation"]
            )
        return cls(**config)


def _features(data):
    """The features of a training element: a pair dict, possibly packed by Keras."""
    if not isinstance(data, dict):
        data = keras.utils.unpack_x_y_sample_weight(data)[0]
    if not isinstance(data, dict):
        raise TypeError(
            "WeakVAE trains on dicts with `x1`, `x2` (and optionally `label`), e.g. "
            "from `WeakPairSampler.as_dataset`. Received: an element of type "
            f"{type(data).__name__}"
        )
    return data


def _unpack(inputs):
    if isinstance(inputs, dict):
        return inputs["x1"], inputs["x2"], inputs.get("label")
    if isinstance(inputs, (tuple, list)) and len(inputs) in (2, 3):
        return inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else None
    raise ValueError(
        "WeakVAE expects a dict with `x1`, `x2` (and optionally `label`) or a tuple "
        f"(x1, x2[, label]). Received: inputs of type {type(inputs).__name__}"
    )


def _bernoulli_nll(x, logits):
    """Bernoulli negative log-likelihood summed over pixels, `[batch]`."""
    return tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3]
    )


def _standard_normal_kl(mean, log_var):
    """KL[N(mean, exp(log_var)) || N(0, I)] summed over dimensions, `[batch]`."""
    return 0.5 * tf.reduce_sum(
        tf.square(mean) + tf.exp(log_var) - log_var - 1.0, axis=-1
    )
