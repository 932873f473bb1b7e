"""DRPM variational clustering end to end (Sutter et al., 2023, section 5.1).

    python -m trainers.vc --gin_file gin/vc/fmnist_quick.gin --model_dir runs/vc_quick

`vc_experiment` runs, in `--model_dir`:

1. the contrastive (or reconstruction) pretraining of the `MLPAutoencoder`,
   cached under a hash of its config (`trainers.vc.pretraining`);
2. a diagonal GMM on the posterior means of the training images: the Latent
   GMM baseline and the initial priors of VaDE and DRPM-VC
   (`latent_gmm_priors.npz`), and a GMM on the pixels (baseline);
3. VaDE and DRPM-VC from the same pretrained weights, each one run of the
   shared trainer (`trainers.core.training.train`: checkpoints, resume,
   TensorBoard) in `<model_dir>/vade` and `<model_dir>/drpm_vc`, built by the
   gin builders below under the gin scope of its name (`vade/...`,
   `drpm_vc/...` bind per-method settings);
4. the ablation "(c) nearest prior, no DRPM" (`"nearest_prior"`): DRPM-VC's
   model and settings with every image assigned to its nearest prior and no
   partition model, trained under the gin scope `drpm_vc/nearest_prior` (so
   it inherits `drpm_vc/...` bindings) in `<model_dir>/nearest_prior`; beside
   DRPM-VC's row it shows what the partition model itself adds;
5. the table (ACC / NMI / ARI on the test set), the pictures and
   `results.json` (`trainers.vc.results`).
"""

import functools
import json
import os
import time

import gin
import keras
import numpy as np

from tf_drpm.callbacks import ExponentialTemperatureSchedule
from tf_drpm.clustering import DRPMVC
from tf_drpm.clustering import ClusteringEvaluation
from tf_drpm.clustering import MLPAutoencoder
from tf_drpm.clustering import PriorRefit
from tf_drpm.clustering import VaDE
from tf_drpm.clustering import bar_images
from tf_drpm.clustering import clustering_scores
from tf_drpm.clustering import encode_means
from tf_drpm.clustering import evaluate_clustering
from tf_drpm.clustering import latent_gmm_priors
from tf_drpm.clustering import pixel_gmm_predictions
from tf_drpm.data import load_fashion_mnist
from tf_drpm.data import load_mnist
from tf_drpm.data import num_set_batches
from trainers.core import run_directory
from trainers.core import training
from trainers.vc.pretraining import pretrain_autoencoder
from trainers.vc.pretraining import set_batch_data_fn
from trainers.vc.pretraining import vc_pretraining
from trainers.vc.results import METHODS
from trainers.vc.results import write_vc_results

__all__ = ["vc_callbacks", "vc_data", "vc_dataset", "vc_evaluate", "vc_experiment",
           "vc_model", "vc_optimizer"]


@gin.configurable("vc_dataset")
@functools.lru_cache(maxsize=2)
def vc_dataset(name="fashion_mnist", data_dir=None, train_size=None, test_size=None,
               seed=0, num_classes=10):
    """`(train_images, train_labels, test_images, test_labels)`, loaded once.

    Args:
      name: "fashion_mnist", "mnist" or "generated" (`bar_images`, smoke tests).
      data_dir: optional directory of the IDX files.
      train_size, test_size: optional seeded random subsets (None: all).
      seed: seed of the subsets and of the generated data (bound by
        `vc_experiment`).
      num_classes: number of classes of the generated data.
    """
    if name == "generated":
        return bar_images(train_size or 512, test_size or 256, num_classes=num_classes,
                          seed=seed)
    loaders = {"fashion_mnist": load_fashion_mnist, "mnist": load_mnist}
    if name not in loaders:
        raise ValueError("`vc_dataset.name` must be 'fashion_mnist', 'mnist' or 'generated'. "
                         f"Received: name={name!r}")
    train = _subset(*loaders[name]("train", data_dir=data_dir), train_size, seed)
    test = _subset(*loaders[name]("test", data_dir=data_dir), test_size, seed + 1)
    return train + test


def _subset(images, labels, size, seed):
    if size is None or size >= len(images):
        return images, labels
    index = np.sort(np.random.RandomState(seed).choice(len(images), size, replace=False))
    return images[index], labels[index]


def _scoped(configurable, parameter, default):
    """The value gin gives `configurable.parameter` in the current scope."""
    return gin.get_bindings(configurable).get(parameter, default)


@gin.configurable("vc_data")
def vc_data(initial_epoch, epochs, seed, batch_size=256):
    """Set batches (a batch is one set) of the training images, epoch-exact."""
    images = vc_dataset()[0]
    return set_batch_data_fn(images, batch_size)(initial_epoch, epochs, seed)


@gin.configurable("vc_model")
def vc_model(method=gin.REQUIRED, pretrained_weights=gin.REQUIRED, prior_init=gin.REQUIRED,
             seed=0, initial_log_scale=-2.0, freeze_trunk=True, beta=0.1, gamma=1.0,
             delta=0.01, num_partition_samples=100, kl="bound", initial_temperature=1.0,
             initial_score_scale=1.0, noisy_counts=True,
             partition_weights="mean_responsibilities", partition_model="drpm"):
    """A built VaDE (`method="vade"`), DRPM-VC (`"drpm_vc"`) or the ablation
    without a partition model (`"nearest_prior"`: DRPM-VC with
    `partition_model="nearest_prior"`) from the pretraining.

    `method`, `pretrained_weights` (the cached auto-encoder), `prior_init`
    (the Latent GMM's `.npz`) and `seed` are bound by `vc_experiment`. The
    log-scale head is reset to `initial_log_scale` (None keeps it); the rest
    are `DRPMVC` arguments (`freeze_trunk` for all models).
    """
    prior = np.load(prior_init)
    parameters = [prior[k] for k in ("log_weights", "means", "log_scales")]
    num_clusters, latent_dim = parameters[1].shape
    autoencoder = MLPAutoencoder(latent_dim=latent_dim, name="autoencoder")
    autoencoder.build()
    autoencoder.load_weights(pretrained_weights)
    if initial_log_scale is not None:
        autoencoder.reset_log_scale_head(initial_log_scale)
    if method == "vade":
        model = VaDE(autoencoder, num_clusters=num_clusters, freeze_trunk=freeze_trunk,
                     seed=seed)
    elif method in ("drpm_vc", "nearest_prior"):
        if method == "nearest_prior":
            partition_model = "nearest_prior"
        model = DRPMVC(
            autoencoder, num_clusters=num_clusters, beta=beta, gamma=gamma, delta=delta,
            num_partition_samples=num_partition_samples, kl=kl,
            initial_temperature=initial_temperature,
            initial_score_scale=initial_score_scale, noisy_counts=noisy_counts,
            partition_weights=partition_weights, partition_model=partition_model,
            freeze_trunk=freeze_trunk, seed=seed)
    else:
        raise ValueError("`vc_model.method` must be 'vade', 'drpm_vc' or 'nearest_prior'. "
                         f"Received: method={method!r}")
    model.build()
    model.prior.assign_parameters(*parameters)
    return model


@gin.configurable("vc_optimizer")
def vc_optimizer(name="adamw", learning_rate=1e-4, weight_decay=0.01, decay_epochs=None,
                 decay_rate=0.95):
    """Adam or AdamW; with `decay_epochs`, the learning rate times `decay_rate`
    every `decay_epochs` epochs (staircase; VaDE's schedule)."""
    if name not in ("adam", "adamw"):
        raise ValueError(f"`vc_optimizer.name` must be 'adam' or 'adamw'. Received: {name!r}")
    if decay_epochs:
        steps = num_set_batches(len(vc_dataset()[0]), _scoped("vc_data", "batch_size", 256))
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=decay_epochs * steps, decay_rate=decay_rate,
            staircase=True)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(learning_rate)


@gin.configurable("vc_callbacks")
def vc_callbacks(model, final_temperature=0.5, anneal_steps=100000, refit_every_epochs=10,
                 refit_max_points=None, evaluate_every_epochs=0):
    """DRPM-VC's temperature schedule (1 -> `final_temperature` over
    `anneal_steps`, None: the whole run), the prior refit every
    `refit_every_epochs` (0: never) and the test scores every
    `evaluate_every_epochs` epochs (0: only at the end)."""
    train_images, _, test_images, test_labels = vc_dataset()
    callbacks = []
    if isinstance(model, DRPMVC):
        steps = num_set_batches(len(train_images), _scoped("vc_data", "batch_size", 256))
        total_steps = _scoped("train", "epochs", 1) * steps
        callbacks.append(ExponentialTemperatureSchedule(
            model.initial_temperature, final_temperature,
            decay_steps=int(anneal_steps or total_steps), variables=[model.temperature]))
    callbacks.append(PriorRefit(train_images, refit_every_epochs, seed=model.seed,
                                max_points=refit_max_points))
    callbacks.append(ClusteringEvaluation(test_images, test_labels, evaluate_every_epochs))
    return callbacks


@gin.configurable("vc_evaluate")
def vc_evaluate(model, model_dir):
    """ACC / NMI / ARI of the model's clusters of the test images."""
    del model_dir
    _, _, test_images, test_labels = vc_dataset()
    return evaluate_clustering(model, test_images, test_labels)


@gin.configurable("vc_experiment", denylist=["model_dir"])
def vc_experiment(model_dir, methods=METHODS, seed=0, latent_dim=20, num_clusters=10,
                  cache_dir=None, gmm_n_init=10, gmm_max_points=None,
                  pixel_gmm_max_points=None, plots=True):
    """Pretraining, the baselines, VaDE, DRPM-VC and the ablation without a
    partition model; writes and prints the table.

    Args:
      model_dir: run directory (rerun with the same one to resume).
      methods: subset of ("gmm", "latent_gmm", "vade", "drpm_vc",
        "nearest_prior").
      seed: the seed of everything (data subsets, pretraining, GMMs, models,
        sampling): bound as `vc_dataset.seed`, `vc_model.seed`, `train.seed`.
      latent_dim: l (20 for Fashion-MNIST, 10 for MNIST).
      num_clusters: K.
      cache_dir: pretraining cache (default `<parent of model_dir>/vc_pretrain_cache`).
      gmm_n_init, gmm_max_points: the Latent GMM (restarts, subset size).
      pixel_gmm_max_points: subset size of the pixel GMM.
      plots: write the PNG pictures.

    Returns:
      `{method: {"acc", "nmi", "ari"}}` on the test set.
    """
    start = time.time()
    if set(methods) - set(METHODS):
        raise ValueError(f"`methods` must be a subset of {METHODS}. "
                         f"Received: methods={tuple(methods)!r}")
    os.makedirs(run_directory.output_path(model_dir), exist_ok=True)
    training.set_seeds(seed)
    _bind({"vc_dataset.seed": seed})
    train_images, _, test_images, test_labels = vc_dataset()
    dataset = _scoped("vc_dataset", "name", "fashion_mnist")
    results_path = os.path.join(model_dir, "baseline_results.json")
    results, timings = {}, {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)

    t0 = time.time()
    cache_dir = cache_dir or os.path.join(
        os.path.dirname(os.path.abspath(model_dir)), "vc_pretrain_cache")
    settings = vc_pretraining()
    autoencoder, weights_path, cached = pretrain_autoencoder(
        train_images, cache_dir, {
            "dataset": dataset, "train_size": _scoped("vc_dataset", "train_size", None),
            "latent_dim": latent_dim, "num_clusters": num_clusters, "seed": seed,
            "num_train": len(train_images), **settings})
    timings["pretraining_s"] = time.time() - t0
    print(f"[vc] pretraining ({settings['kind']}) "
          f"{'loaded from' if cached else 'written to'} {weights_path} "
          f"({timings['pretraining_s']:.1f} s)", flush=True)

    t0 = time.time()
    gmm, parameters = latent_gmm_priors(autoencoder, train_images, num_clusters, seed=seed,
                                        n_init=gmm_n_init, max_points=gmm_max_points)
    # This process's own copy (a non-chief worker's is under its temporary directory).
    prior_init = run_directory.output_path(os.path.join(model_dir, "latent_gmm_priors.npz"))
    np.savez(prior_init, **dict(zip(("log_weights", "means", "log_scales"), parameters)))
    if "latent_gmm" in methods:
        results["latent_gmm"] = clustering_scores(
            test_labels, gmm.predict(encode_means(autoencoder, test_images)))
    timings["latent_gmm_s"] = time.time() - t0
    if "gmm" in methods and "gmm" not in results:
        t0 = time.time()
        results["gmm"] = clustering_scores(test_labels, pixel_gmm_predictions(
            train_images, test_images, num_clusters, seed, pixel_gmm_max_points))
        timings["gmm_s"] = time.time() - t0
    training.write_json(results_path, results)

    models = {}
    for method in ("vade", "drpm_vc", "nearest_prior"):
        if method not in methods:
            continue
        t0 = time.time()
        _bind({"vc_model.method": method, "vc_model.seed": seed, "train.seed": seed,
               "vc_model.pretrained_weights": weights_path, "vc_model.prior_init": prior_init})
        scope = "drpm_vc/nearest_prior" if method == "nearest_prior" else method
        with gin.config_scope(scope):
            result = training.train(os.path.join(model_dir, method))
        results[method], models[method] = result.results, result.model
        timings[f"{method}_s"] = time.time() - t0

    timings["total_s"] = time.time() - start
    summary = {"timings": timings, "dataset": dataset, "seed": seed,
               "num_train": len(train_images), "num_test": len(test_images),
               "pretrain_cache": weights_path}
    summary.update({key: _scoped("drpm_vc/vc_model", key, None) for key in (
        "kl", "noisy_counts", "partition_weights", "partition_model")})
    table = write_vc_results(model_dir, results, summary, dataset,
                                        models.get("drpm_vc"), plots)
    print(f"\n[vc] {dataset}, test set ({len(test_images)} images), seed {seed}, "
          f"{timings['total_s']:.0f} s\n" + table, flush=True)
    return results


def _bind(bindings):
    with gin.unlock_config():
        for name, value in bindings.items():
            gin.bind_parameter(name, value)

