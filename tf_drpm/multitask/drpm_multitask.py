"""DRPM-MTL: the DRPM decides how many shared neurons each task gets."""

import keras
import tensorflow as tf

from tf_drpm.multitask._multitask_model import _MultitaskModel
from tf_drpm.multitask.task_partition import TaskPartition

__all__ = ["DRPMMultitask"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class DRPMMultitask(_MultitaskModel):
    """Multitask model whose heads see DRPM-partitioned parts of `z`.

    Sutter et al. (2023), section 5.3 and appendix C.3:

    ```
    z            = encoder(x)                                  # [B, d]
    e            = partition_encoder(x)  (or z if None)        # [B, e]
    masks, sizes = TaskPartition(e)                            # [B, T, d], [B, T]
    logits_t     = head_t(z * masks[:, t])
    loss         = (1 / T) sum_t CE_t + lambda * mean_b sum_t lgamma(n_t + 1)
    ```

    The partition is deterministic (no Gumbel noise) with straight-through
    hard sizes and a soft permutation, as in the authors' code. The optional
    regulariser (`regularization_weight` = lambda, 0.015 for CelebA in the
    paper) penalises log |Pi_Y| = sum_t log n_t!, the number of orderings of
    the partition (Lemma 4.2). `log Gamma` is convex, so for a fixed total the
    penalty is smallest for equal sizes: it keeps a task from being starved.

    Args:
        encoder: Keras model/layer mapping images to `z` `[batch, d]`.
        heads: List of `T` Keras models/layers mapping `[batch, d]` to logits.
        partition_encoder: Optional Keras model/layer mapping images to the
            partition encoding (the paper uses a second encoder with the same
            architecture and its own weights); `None` uses `z`.
        task_names: Optional list of `T` unique names (metric names).
        temperature: Initial temperature of the DRPM relaxations (a
            non-trainable variable, see `temperature`).
        evaluation_temperature: Optional temperature used when
            `training=False` (the reference validates at its final 0.5).
        regularization_weight: Non-negative float lambda.
        hard_permutation: Python bool; straight-through hard permutation
            (exact masks) instead of the soft one.
        stochastic: Python bool; Gumbel noise in the DRPM (off in the paper).
        sample_at_inference: Python bool; with `stochastic`, the partition
            is sampled at evaluation too (`training=False`), as it always was
            in this model. `False` evaluates with the noiseless partition.
            Default `True`.
        seed: Optional int seed of the partition layer (stochastic only).
        fixed_sizes: Optional tuple of `T` ints summing to `d`: frozen subset
            sizes (only the feature order is learnt; an ablation of the
            learnt sizes). Default `None`.
        size_map: `"linear"` (default, the paper's log-weights from the
            partition encoding) or `"constant"` (one learnt log-weight per
            task for every example); see `TaskPartition`.
        size_warmup_steps: Non-negative int; during the first this many
            optimizer steps the subset sizes are held equal (as equal as the
            integers allow), then learnt. Default `0`.
        track_size_gradients: Python bool; log, as means over each epoch's
            train steps, what every step does to the bias `b` of the size
            map (`log_weights = e W + b`): each task loss's gradient on it,
            `size_gradient_step/<task>_loss/<subset>`, the objective's,
            `size_gradient_step/net/<subset>` (the gradient the optimizer
            receives, before the replica scaling), and the optimizer's change
            of it, `size_update_step/<subset>`; all centred over the subsets
            (a common shift of the log-weights changes nothing). It costs
            `T + 1` more backward passes to `b` per step and changes nothing
            else. Needs learnt sizes. Default `False`.
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        images: Input batch.
        training: Python bool or None.

    Returns:
        A dict with `logits` (list of `T` tensors), `masks` `[batch, T, d]`,
        `sizes` `[batch, T]` and `features` (`z`).

    Metrics: `loss`, `task_loss`, `<task>_accuracy`, `mean_accuracy`,
    `<task>_size` (mean subset size n_t), when lambda > 0,
    `regularization` (the weighted penalty), and with
    `track_size_gradients` the train-step values above.

    Example:

    >>> model = DRPMMultitask(
    ...     MultiLeNet(), [MultiLeNetHead(), MultiLeNetHead()],
    ...     partition_encoder=MultiLeNet(), task_names=["left", "right"])
    >>> model.compile(optimizer=keras.optimizers.Adam(5e-4))
    >>> # model.fit(dataset_of_images_and_int_labels_[B, 2], epochs=...,
    >>> #           callbacks=[ExponentialTemperatureSchedule(...)])
    """

    def __init__(
        self,
        encoder,
        heads,
        partition_encoder=None,
        task_names=None,
        temperature=1.0,
        evaluation_temperature=None,
        regularization_weight=0.0,
        hard_permutation=False,
        stochastic=False,
        seed=None,
        fixed_sizes=None,
        size_map="linear",
        size_warmup_steps=0,
        sample_at_inference=True,
        track_size_gradients=False,
        **kwargs,
    ):
        if not regularization_weight >= 0:
            raise ValueError(
                "`regularization_weight` must be non-negative. "
                f"Received: regularization_weight={regularization_weight}"
            )
        if (
            isinstance(size_warmup_steps, bool)
            or not isinstance(size_warmup_steps, int)
            or size_warmup_steps < 0
        ):
            raise ValueError(
                "`size_warmup_steps` must be a non-negative int. "
                f"Received: size_warmup_steps={size_warmup_steps!r}"
            )
        if not isinstance(track_size_gradients, bool):
            raise ValueError("`track_size_gradients` must be a Python bool. "
                             f"Received: track_size_gradients={track_size_gradients!r}")
        if track_size_gradients and fixed_sizes is not None:
            raise ValueError(
                "`track_size_gradients` needs learnt subset sizes. Received: "
                f"track_size_gradients=True with fixed_sizes={fixed_sizes}")
        self.regularization_weight = float(regularization_weight)
        self.size_warmup_steps = size_warmup_steps
        self.track_size_gradients = track_size_gradients
        super().__init__(encoder, heads, task_names=task_names, **kwargs)
        self.partition_encoder = partition_encoder
        self.partition = TaskPartition(
            num_tasks=self.num_tasks,
            temperature=temperature,
            evaluation_temperature=evaluation_temperature,
            hard_permutation=hard_permutation,
            stochastic=stochastic,
            seed=seed,
            fixed_sizes=fixed_sizes,
            size_map=size_map,
            sample_at_inference=sample_at_inference,
            name="task_partition",
        )

    @property
    def temperature(self):
        """The non-trainable temperature variable of the partition layer."""
        return self.partition.temperature

    def _extra_metric_names(self):
        names = [f"{t}_size" for t in self.task_names]
        if self.regularization_weight > 0:
            names.append("regularization")
        if self.track_size_gradients:
            names += self._size_step_names()
        return names

    def _size_step_names(self):
        tasks = self.task_names
        return ([f"size_gradient_step/{t}_loss/{j}" for t in tasks for j in tasks]
                + [f"size_gradient_step/net/{j}" for j in tasks]
                + [f"size_update_step/{j}" for j in tasks])

    @property
    def _persistent_train_tape(self):
        return self.track_size_gradients

    @property
    def _train_only_trackers(self):
        return frozenset(self._size_step_names()) if self.track_size_gradients else frozenset()

    def _before_apply(self, tape, losses):
        if not self.track_size_gradients:
            return None
        bias = self.partition.weights_bias
        rows = [tape.gradient(losses[f"{t}_loss"], bias) for t in self.task_names]
        rows.append(tape.gradient(losses["loss"], bias))
        return rows, tf.identity(bias)

    def _after_apply(self, losses, probe):
        if probe is None:
            return losses
        rows, before = probe
        bias = self.partition.weights_bias
        rows = rows + [tf.identity(bias) - before]

        def centred(row):
            row = tf.cast(tf.zeros_like(bias) if row is None else row, tf.float32)
            return row - tf.reduce_mean(row)

        values = dict(losses)
        steps = tf.reshape(tf.stack([centred(r) for r in rows]), [-1])
        values.update(zip(self._size_step_names(), tf.unstack(steps)))
        return values

    def _extra_losses(self, outputs):
        if self.regularization_weight == 0:
            return {}
        sizes = tf.cast(outputs["sizes"], tf.float32)  # [B, T]
        log_orderings = tf.reduce_sum(tf.math.lgamma(tf.nn.relu(sizes) + 1.0), -1)
        return {"regularization": self.regularization_weight * tf.reduce_mean(log_orderings)}

    def _extra_metric_values(self, outputs):
        sizes = outputs["sizes"]
        return {f"{t}_size": sizes[:, i] for i, t in enumerate(self.task_names)}

    def call(self, images, training=None):
        features = self.encoder(images, training=training)  # [B, d]
        if self.partition_encoder is None:
            encoding = features
        else:
            encoding = self.partition_encoder(images, training=training)
        if not self.partition.built:
            self.partition.num_features = int(features.shape[-1])
        if training and self.size_warmup_steps and self.optimizer is not None:
            d = int(features.shape[-1])
            equal = [d // self.num_tasks + (t < d % self.num_tasks)
                     for t in range(self.num_tasks)]
            partition = tf.cond(
                self.optimizer.iterations < self.size_warmup_steps,
                lambda: self.partition(encoding, training=training, sizes=equal),
                lambda: self.partition(encoding, training=training),
            )
        else:
            partition = self.partition(encoding, training=training)
        masks = tf.cast(partition["masks"], features.dtype)  # [B, T, d]
        masked = features[:, tf.newaxis, :] * masks  # [B, T, d]
        logits = [
            head(masked[:, t], training=training) for t, head in enumerate(self.heads)
        ]
        return {
            "logits": logits,
            "masks": masks,
            "sizes": partition["sizes"],
            "features": features,
        }

    def get_config(self):
        p = self.partition
        return {
            **super().get_config(),
            "partition_encoder": (
                None
                if self.partition_encoder is None
                else keras.saving.serialize_keras_object(self.partition_encoder)
            ),
            "temperature": p.initial_temperature,
            "evaluation_temperature": p.evaluation_temperature,
            "regularization_weight": self.regularization_weight,
            "hard_permutation": p.hard_permutation,
            "stochastic": p.stochastic,
            "sample_at_inference": p.sample_at_inference,
            "seed": p.seed,
            "fixed_sizes": p.fixed_sizes,
            "size_map": p.size_map,
            "size_warmup_steps": self.size_warmup_steps,
            "track_size_gradients": self.track_size_gradients,
        }
