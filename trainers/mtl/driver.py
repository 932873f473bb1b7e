"""The multitask family: DRPM-MTL and uniform loss scaling (ULS).

Gin-configurable builders for the shared trainer (`trainers.core.training.train`):

* `mtl_model`: a `DRPMMultitask` (`method='drpm'`) or `UniformLossScaling`
  (`method='uls'`) with the MultiLeNet encoder and heads (`architecture=
  'multi_lenet'`, 28x28x1 inputs) or the ResNet-18 encoder with linear binary
  heads (`architecture='resnet18'`, 64x64x3 CelebA inputs).
* `mtl_data`: noisy Multi-X built from Fashion-MNIST / MNIST (cached `.npz`,
  see `tf_drpm.multitask.multi_digit`), TFDS CelebA, or generated images
  (`source='random'`, for smoke tests); the test split is the validation data.
* `mtl_callbacks`: the exponential temperature schedule of DRPM-MTL and, with
  `size_gradient_examples > 0`, the `SizeGradientProbe` (each task loss's
  gradient on the size logits, logged per epoch).
* `mtl_evaluate`: per-task accuracy, mean accuracy and subset sizes at the
  epoch with the best validation mean accuracy (the paper's protocol), read
  from the run's committed history.

    python -m trainers.mtl --gin_file gin/mtl/multi_fashion.gin \\
        --gin_param 'mtl_data.noise_ratio = 0.5' --model_dir runs/mtl_drpm_0.5
"""

import inspect

import gin
import keras
import numpy as np

from tf_drpm.callbacks.exponential_temperature_schedule import (
    ExponentialTemperatureSchedule,
)
from tf_drpm.data.set_batches import num_set_batches
from tf_drpm.multitask import celeba
from tf_drpm.multitask import multi_digit
from tf_drpm.multitask.drpm_multitask import DRPMMultitask
from tf_drpm.multitask.multi_lenet import MultiLeNet
from tf_drpm.multitask.multi_lenet_head import MultiLeNetHead
from tf_drpm.multitask.resnet18_encoder import ResNet18Encoder
from tf_drpm.multitask.size_gradient_probe import SizeGradientProbe
from tf_drpm.multitask.uniform_loss_scaling import UniformLossScaling
from trainers.core import training

__all__ = ["best_epoch_results", "mtl_callbacks", "mtl_data", "mtl_evaluate", "mtl_model"]

_MULTI_DIGIT_TASKS = ("left", "right")
# Multi-X standardisation of the reference code (MNIST's mean and stddev).
_MULTI_DIGIT_MEAN_STDDEV = (0.1307, 0.3081)


@gin.configurable("mtl_model")
def mtl_model(
    method="drpm",
    architecture="multi_lenet",
    num_tasks=2,
    task_names=None,
    latent_dim=None,
    partition_encoder=True,
    temperature=1.0,
    evaluation_temperature=None,
    regularization_weight=0.0,
    hard_permutation=False,
    fixed_sizes=None,
    size_map="linear",
    stochastic=False,
    size_warmup_steps=0,
    track_size_gradients=False,
    l1_weight=0.0,
    resnet_width=64,
    num_classes=10,
):
    """Builds a DRPM-MTL or ULS model.

    Args:
        method: `'drpm'` or `'uls'`.
        architecture: `'multi_lenet'` (MultiLeNet encoder, 50 units, MLP heads
            with `num_classes`) or `'resnet18'` (ResNet-18 encoder, 64 units,
            linear binary heads).
        num_tasks: Python int, number of tasks/heads.
        task_names: Optional list of names (metric names). Default: `left`,
            `right` for two MultiLeNet tasks, the CelebA attributes for
            `resnet18`, else `task<t>`.
        latent_dim: Optional int, size of the shared layer (default 50 / 64).
        partition_encoder: Python bool; DRPM-MTL gets a second encoder of the
            same architecture for the partition (as in the paper).
        temperature: Initial DRPM temperature (annealed by `mtl_callbacks`).
        evaluation_temperature: Optional DRPM temperature for validation.
        regularization_weight: lambda of the log-Gamma regulariser (DRPM).
        hard_permutation: Python bool; exact (straight-through) partition
            masks instead of the soft ones of the authors' code (DRPM).
        fixed_sizes: Optional tuple of `num_tasks` ints summing to
            `latent_dim`, e.g. `(35, 15)`: frozen subset sizes, the rest of
            DRPM-MTL unchanged (unset: learnt sizes).
        size_map: `'linear'` (the paper: log-weights from the partition
            encoding) or `'constant'` (one learnt log-weight per task, the
            same for every example; DRPM).
        stochastic: Python bool; Gumbel noise in the DRPM's sizes and order
            (off in the paper).
        size_warmup_steps: DRPM: equal frozen sizes for this many steps, then
            learnt ones.
        track_size_gradients: Python bool; DRPM with learnt sizes: log per
            epoch the mean over the train steps of each task loss's gradient
            on the size map's bias, the objective's, and the optimizer's
            change of it (`size_gradient_step/...`, `size_update_step/...`;
            see `DRPMMultitask`). The run is otherwise unchanged.
        l1_weight: L1 penalty on the representation (ULS).
        resnet_width: Filters of the first ResNet stage.
        num_classes: Classes per MultiLeNet task.

    Returns:
        An uncompiled `keras.Model`.
    """
    if method not in ("drpm", "uls"):
        raise ValueError(f"`method` must be 'drpm' or 'uls'. Received: method={method!r}")
    if architecture == "multi_lenet":
        latent_dim = latent_dim or 50
        make_encoder = lambda name: MultiLeNet(latent_dim=latent_dim, name=name)
        heads = [MultiLeNetHead(num_classes, name=f"head{t}") for t in range(num_tasks)]
        if task_names is None and num_tasks == 2:
            task_names = list(_MULTI_DIGIT_TASKS)
    elif architecture == "resnet18":
        latent_dim = latent_dim or 64
        make_encoder = lambda name: ResNet18Encoder(
            latent_dim=latent_dim, width=resnet_width, name=name)
        heads = [keras.layers.Dense(2, name=f"head{t}") for t in range(num_tasks)]
        if task_names is None:
            task_names = celeba.celeba_task_names(num_tasks)
    else:
        raise ValueError(
            "`architecture` must be 'multi_lenet' or 'resnet18'. "
            f"Received: architecture={architecture!r}")
    if method == "uls":
        return UniformLossScaling(
            make_encoder("encoder"), heads, task_names=task_names, l1_weight=l1_weight)
    return DRPMMultitask(
        make_encoder("encoder"),
        heads,
        partition_encoder=make_encoder("partition_encoder") if partition_encoder else None,
        task_names=task_names,
        temperature=temperature,
        evaluation_temperature=evaluation_temperature,
        regularization_weight=regularization_weight,
        hard_permutation=hard_permutation,
        fixed_sizes=None if fixed_sizes is None else tuple(int(n) for n in fixed_sizes),
        size_map=size_map,
        stochastic=stochastic,
        seed=0 if stochastic else None,
        size_warmup_steps=int(size_warmup_steps),
        track_size_gradients=bool(track_size_gradients),
    )


def _multi_digit_split(source, split, noise_ratio, pairing_seed, cache_dir, data_dir,
                       num_examples, left_classes=None):
    if source == "fashion_mnist":
        from tf_drpm.data.fashion_mnist import load_fashion_mnist  # pylint: disable=g-import-not-at-top
        images, labels = load_fashion_mnist(split, data_dir=data_dir)
    elif source == "mnist":
        from tf_drpm.data.mnist import load_mnist  # pylint: disable=g-import-not-at-top
        images, labels = load_mnist(split, data_dir=data_dir)
    elif source == "random":
        rs = np.random.RandomState(0 if split == "train" else 1)
        num = num_examples or 64
        images = rs.randint(0, 256, size=(num, 28, 28)).astype(np.uint8)
        labels = rs.randint(0, 10, size=num)
    else:
        raise ValueError(
            "`source` must be 'fashion_mnist', 'mnist', 'random' or 'celeb_a'. "
            f"Received: source={source!r}")
    if num_examples is not None:
        images, labels = images[:num_examples], labels[:num_examples]
    # Different pairings for the two splits, both fixed by `pairing_seed`.
    seed = pairing_seed if split == "train" else pairing_seed + 1_000_003
    return multi_digit.make_multi_digit(
        images, labels, noise_ratio=noise_ratio, seed=seed, cache_dir=cache_dir,
        name=f"multi_{source}_{split}", left_classes=left_classes)[:2]


@gin.configurable("mtl_data")
def mtl_data(initial_epoch, epochs, seed, source="fashion_mnist", noise_ratio=0.0,
             pairing_seed=0, batch_size=256, cache_dir=None, data_dir=None,
             num_train=None, num_test=None, num_tasks=2, normalize=True,
             left_classes=None):
    """Training and test data of the multitask experiments.

    Args:
        initial_epoch, epochs: From the trainer: Multi-X training data cover
            epochs `initial_epoch .. epochs - 1`, each shuffled by `(seed,
            epoch)`, so a resumed run sees the batches of an uninterrupted one.
        seed: Shuffle seed.
        source: `'fashion_mnist'`, `'mnist'`, `'random'` (generated images) or
            `'celeb_a'` (TFDS, must be prepared).
        noise_ratio: Multi-X noise ratio alpha of the right image.
        pairing_seed: Seed of the Multi-X pairing and noise.
        batch_size: Global batch size.
        cache_dir: Optional directory for the Multi-X `.npz` cache.
        data_dir: Optional directory of the source files (IDX or TFDS).
        num_train, num_test: Optional subset sizes (quick runs).
        num_tasks: CelebA tasks (alphabetical attributes).
        normalize: Multi-X only: standardise with the MNIST constants
            (0.1307, 0.3081) as the reference code does.
        left_classes: Multi-X only: optional labels the left image is drawn
            from (e.g. `(1, 8)`, trouser and bag, for an easy left task);
            see `tf_drpm.multitask.multi_digit.make_multi_digit`.

    Returns:
        `training.TrainData(train, validation, steps_per_epoch)`.
    """
    if source == "celeb_a":
        train = celeba.load_celeba("train", data_dir=data_dir, num_tasks=num_tasks,
                                   batch_size=batch_size, shuffle=True, seed=seed)
        test = celeba.load_celeba("test", data_dir=data_dir, num_tasks=num_tasks,
                                  batch_size=batch_size)
        if num_train:
            train = train.take(max(1, num_train // batch_size))
        if num_test:
            test = test.take(max(1, num_test // batch_size))
        return training.TrainData(train=train, validation=test)
    mean, stddev = _MULTI_DIGIT_MEAN_STDDEV if normalize else (None, None)
    splits, sizes = {}, {}
    for split, num in (("train", num_train), ("test", num_test)):
        images, labels = _multi_digit_split(
            source, split, noise_ratio, pairing_seed, cache_dir, data_dir, num,
            left_classes)
        sizes[split] = len(images)
        splits[split] = multi_digit.multi_digit_dataset(
            images, labels, batch_size, shuffle=split == "train", seed=seed,
            mean=mean, stddev=stddev, initial_epoch=initial_epoch, epochs=epochs)
    return training.TrainData(
        train=splits["train"], validation=splits["test"],
        steps_per_epoch=num_set_batches(sizes["train"], batch_size, drop_remainder=False))


@gin.configurable("mtl_callbacks")
def mtl_callbacks(model, initial_temperature=1.0, final_temperature=0.5, decay_steps=1000,
                  size_gradient_examples=0):
    """The temperature schedule for DRPM-MTL (nothing for ULS).

    Args:
        model: The model `mtl_model` built.
        initial_temperature, final_temperature, decay_steps: The schedule
            (`ExponentialTemperatureSchedule`).
        size_gradient_examples: Non-negative int; when positive (DRPM-MTL with
            learnt sizes on Multi-X), a `SizeGradientProbe` on the first this
            many training pairs (in file order, normalised as in training)
            adds `size_gradient/<task>_loss/<task>` to every epoch's logs. It
            draws no random numbers, so the run is otherwise unchanged.
    """
    if isinstance(size_gradient_examples, bool) or not isinstance(
            size_gradient_examples, int) or size_gradient_examples < 0:
        raise ValueError("`size_gradient_examples` must be a non-negative int. "
                         f"Received: size_gradient_examples={size_gradient_examples!r}")
    if not isinstance(model, DRPMMultitask):
        return []
    callbacks = [ExponentialTemperatureSchedule(
        initial_temperature, final_temperature, decay_steps=decay_steps,
        variables=[model.temperature])]
    if size_gradient_examples:
        callbacks.append(SizeGradientProbe(*_probe_set(size_gradient_examples)))
    return callbacks


def _probe_set(num_examples):
    """The first `num_examples` training pairs of the data `mtl_data` is bound to."""
    arguments = {name: p.default for name, p in inspect.signature(mtl_data).parameters.items()
                 if p.default is not inspect.Parameter.empty}
    arguments.update(gin.get_bindings("mtl_data"))
    if arguments["source"] == "celeb_a":
        raise ValueError("`mtl_callbacks.size_gradient_examples` supports the Multi-X "
                         "sources only. Received: mtl_data.source='celeb_a'")
    images, labels = _multi_digit_split(
        arguments["source"], "train", arguments["noise_ratio"], arguments["pairing_seed"],
        arguments["cache_dir"], arguments["data_dir"], arguments["num_train"],
        arguments["left_classes"])
    images, labels = images[:num_examples], labels[:num_examples]
    mean, stddev = _MULTI_DIGIT_MEAN_STDDEV if arguments["normalize"] else (None, None)
    batch = multi_digit.multi_digit_dataset(images, labels, len(images), mean=mean,
                                            stddev=stddev)
    images, labels = next(iter(batch))
    return images.numpy(), labels.numpy()


def best_epoch_results(history, key="val_mean_accuracy"):
    """The validation metrics of the epoch with the best `key`.

    Args:
        history: List of `{"epoch", "step", "logs"}` records (the trainer's
            committed history).
        key: Metric to maximise.

    Returns:
        Dict with `best_epoch` (the trainer's 1-based epoch number; the first
        epoch wins ties) and the `val_*` metrics of that epoch
        without the prefix; empty if no epoch has `key`.
    """
    records = [r for r in history if key in r.get("logs", {})]
    if not records:
        return {}
    best = max(records, key=lambda r: r["logs"][key])
    results = {"best_epoch": int(best["epoch"])}
    for name, value in best["logs"].items():
        if name.startswith("val_"):
            results[name[len("val_"):]] = float(value)
    return results


@gin.configurable("mtl_evaluate")
def mtl_evaluate(model, model_dir):
    """Per-task accuracies, mean accuracy and subset sizes at the best epoch."""
    del model
    state = training.read_checkpoint_state(model_dir)
    return best_epoch_results(state["history"] if state else [])

