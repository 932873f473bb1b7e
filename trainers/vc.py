"""DRPM variational clustering end to end (Sutter et al., 2023, section 5.1).

    python -m trainers.vc --gin_file gin/vc/fmnist_quick.gin --model_dir runs/vc_quick

One run:

1. loads the data set (`vc.dataset`: "fashion_mnist", "mnist" or "generated",
   the last a tiny synthetic set for smoke tests);
2. pretrains the `MLPAutoencoder` (contrastive or reconstruction), CACHED on
   disk under a hash of the pretraining config (`vc.cache_dir`, default
   `<parent of model_dir>/vc_pretrain_cache`), so later runs reuse it;
3. fits a diagonal GMM to the posterior means of the training images: the
   Latent GMM baseline and the initial priors of VaDE and DRPM-VC;
4. fits a GMM on the pixels (baseline);
5. trains VaDE and DRPM-VC from the same pretrained weights with the shared
   trainer (`trainers.training.train`: checkpoints, resume, TensorBoard) in
   `model_dir/vade` and `model_dir/drpm_vc`; the priors are refitted by a GMM
   every `vc.refit_every_epochs` epochs by assigning the prior variables;
6. writes `results.json`, `results.md` (the four-method table: ACC / NMI /
   ARI on the test set) and the pictures (`partition_sample.png`,
   `prior_samples.png`) to `model_dir`, and prints the table.
"""

import hashlib
import json
import os
import time

import gin
import keras
import numpy as np

from tf_drpm.callbacks import ExponentialTemperatureSchedule
from tf_drpm.clustering import clustering_scores
from tf_drpm.clustering.contrastive_pretraining import ContrastivePretraining
from tf_drpm.clustering.drpm_variational_clustering import DRPMVC
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder
from tf_drpm.clustering.vade import VaDE
from tf_drpm.data import load_fashion_mnist
from tf_drpm.data import load_mnist
from tf_drpm.data import num_set_batches
from tf_drpm.data import set_batches
from trainers import cli
from trainers import training
from trainers import vc_plots

__all__ = [
    "PriorRefit",
    "encode_means",
    "generated_data",
    "load_vc_data",
    "pretrain_autoencoder",
    "run",
]

METHODS = ("gmm", "latent_gmm", "vade", "drpm_vc")
METHOD_NAMES = {
    "gmm": "GMM (pixels)",
    "latent_gmm": "Latent GMM",
    "vade": "VaDE",
    "drpm_vc": "DRPM-VC",
}
# Sutter et al. (2023), Table 1, Fashion-MNIST (5 seeds): NMI / ARI / ACC.
PAPER_FMNIST = {
    "gmm": (0.49, 0.33, 0.44),
    "latent_gmm": (0.60, 0.47, 0.62),
    "vade": (0.56, 0.40, 0.56),
    "drpm_vc": (0.64, 0.51, 0.65),
}
PAPER_MNIST = {
    "gmm": (0.32, 0.22, 0.41),
    "latent_gmm": (0.86, 0.83, 0.88),
    "vade": (0.84, 0.76, 0.82),
    "drpm_vc": (0.89, 0.88, 0.94),
}


def generated_data(train_size=512, test_size=256, num_classes=10, seed=0):
    """A tiny synthetic image set: class c is a bright bar at a class position.

    Returns:
      `(train_images, train_labels, test_images, test_labels)`, uint8 images
      `[N, 28, 28]` and int64 labels.
    """
    rng = np.random.RandomState(seed)

    def make(size):
        labels = rng.randint(num_classes, size=size)
        images = rng.uniform(0, 40, size=(size, 28, 28))
        for i, label in enumerate(labels):
            row = 2 + (label * 24) // max(num_classes, 1)
            images[i, row : row + 3, 4:24] = 255.0
        return images.astype(np.uint8), labels.astype(np.int64)

    return make(train_size) + make(test_size)


def _subset(images, labels, size, seed):
    if size is None or size >= len(images):
        return images, labels
    index = np.sort(
        np.random.RandomState(seed).choice(len(images), size, replace=False)
    )
    return images[index], labels[index]


@gin.configurable("vc_data")
def load_vc_data(
    dataset="fashion_mnist",
    data_dir=None,
    train_size=None,
    test_size=None,
    seed=0,
    num_classes=10,
):
    """Loads `(train_images, train_labels, test_images, test_labels)`.

    Args:
      dataset: "fashion_mnist", "mnist" or "generated".
      data_dir: optional directory of the IDX files.
      train_size, test_size: optional seeded random subsets (None: all).
      seed: seed of the subsets and of the generated data.
      num_classes: number of classes of the generated data.
    """
    if dataset == "generated":
        return generated_data(
            train_size or 512, test_size or 256, num_classes=num_classes, seed=seed
        )
    if dataset == "fashion_mnist":
        loader = load_fashion_mnist
    elif dataset == "mnist":
        loader = load_mnist
    else:
        raise ValueError(
            "`dataset` must be 'fashion_mnist', 'mnist' or 'generated'. "
            f"Received: dataset={dataset!r}"
        )
    train = _subset(*loader("train", data_dir=data_dir), train_size, seed)
    test = _subset(*loader("test", data_dir=data_dir), test_size, seed + 1)
    return train + test


def encode_means(autoencoder, images, batch_size=2000):
    """Posterior means `[N, latent_dim]` (numpy) of `images`."""
    return np.concatenate(
        [
            autoencoder.encode(images[i : i + batch_size])[0].numpy()
            for i in range(0, len(images), batch_size)
        ]
    )


class PriorRefit(keras.callbacks.Callback):
    """Refits the model's `prior` (a `GaussianMixturePrior`) every few epochs.

    At the end of every `every_epochs`-th epoch a diagonal GMM is fitted to the
    posterior means of `images` and ASSIGNED to the prior variables, so the
    optimizer keeps training the refitted priors.

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


class TestClustering(keras.callbacks.Callback):
    """Adds test-set `test_acc`, `test_nmi`, `test_ari` to the epoch logs.

    Evaluated every `every_epochs` epochs (0 disables it) with the model's
    deterministic `predict_clusters`, so it does not change the training; the
    values land in `epochs.jsonl` and the TensorBoard scalars.
    """

    def __init__(self, images, labels, every_epochs=1):
        super().__init__()
        self.images = images
        self.labels = labels
        self.every_epochs = int(every_epochs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.every_epochs <= 0 or (epoch + 1) % self.every_epochs:
            return
        scores = _test_scores(self.model, self.images, self.labels)
        logs.update({f"test_{name}": float(value) for name, value in scores.items()})


def latent_gmm_priors(autoencoder, images, num_clusters, seed, n_init, max_points=None):
    """Fits the Latent GMM to the posterior means of `images`.

    Returns:
      `(gmm, parameters)`: the fitted scikit-learn mixture and the prior
      parameters `[log_weights, means, log_scales]` (numpy) for
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


def _config_key(config):
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _data_fn(images, batch_size):
    steps = num_set_batches(len(images), batch_size)

    def data_fn(initial_epoch, epochs, seed):
        return training.TrainData(
            train=set_batches(
                images,
                batch_size,
                shuffle=True,
                seed=seed,
                initial_epoch=initial_epoch,
                epochs=epochs,
            ),
            steps_per_epoch=steps,
        )

    return data_fn


def pretrain_autoencoder(images, cache_dir, config, strategy="default", verbose=2):
    """Pretrains an `MLPAutoencoder`, or loads it from the cache.

    Args:
      images: training images `[N, 28, 28]` uint8.
      cache_dir: cache directory; the weights are stored under
        `cache_dir/<hash of config>/autoencoder.weights.h5`.
      config: dict with `dataset`, `latent_dim`, `kind` ("contrastive" or
        "reconstruction"), `epochs`, `batch_size`, `learning_rate`, `seed`,
        `num_clusters` and the `ContrastivePretraining` keyword arguments
        (`head_units`, `heads_input`, `reconstruction_weight`).

    Returns:
      `(autoencoder, weights_path, cached)`.
    """
    key = _config_key(config)
    run_dir = os.path.join(cache_dir, key)
    weights_path = os.path.join(run_dir, "autoencoder.weights.h5")
    autoencoder = MLPAutoencoder(latent_dim=config["latent_dim"], name="autoencoder")
    autoencoder.build()
    if os.path.exists(weights_path):
        autoencoder.load_weights(weights_path)
        return autoencoder, weights_path, True
    os.makedirs(run_dir, exist_ok=True)
    training.write_json(os.path.join(run_dir, "pretrain_config.json"), config)

    def model_fn():
        model = MLPAutoencoder(latent_dim=config["latent_dim"], name="autoencoder")
        model.build()
        if config["kind"] == "contrastive":
            model = ContrastivePretraining(
                model,
                num_clusters=config["num_clusters"],
                head_units=config["head_units"],
                heads_input=config["heads_input"],
                reconstruction_weight=config["reconstruction_weight"],
                seed=config["seed"],
            )
            model.build()
        elif config["kind"] != "reconstruction":
            raise ValueError(
                "`pretraining` must be 'contrastive' or 'reconstruction'. "
                f"Received: pretraining={config['kind']!r}"
            )
        return model

    result = training.train(
        model_dir=os.path.join(run_dir, "run"),
        model_fn=model_fn,
        data_fn=_data_fn(images, config["batch_size"]),
        optimizer=lambda: keras.optimizers.Adam(config["learning_rate"]),
        epochs=config["epochs"],
        strategy=strategy,
        seed=config["seed"],
        callbacks_fn=None,
        evaluate_fn=None,
        tensorboard=False,
        verbose=verbose,
    )
    model = result.model
    trained = model.autoencoder if isinstance(model, ContrastivePretraining) else model
    trained.save_weights(weights_path + ".tmp.weights.h5")
    os.replace(weights_path + ".tmp.weights.h5", weights_path)
    autoencoder.load_weights(weights_path)
    return autoencoder, weights_path, False


def _fresh_autoencoder(latent_dim, weights_path, log_scale):
    autoencoder = MLPAutoencoder(latent_dim=latent_dim, name="autoencoder")
    autoencoder.build()
    autoencoder.load_weights(weights_path)
    if log_scale is not None:
        autoencoder.reset_log_scale_head(log_scale)
    return autoencoder


def _vade_optimizer(name, learning_rate, weight_decay):
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(learning_rate)


def _predict(predict_fn, images, batch_size=2000):
    return np.concatenate(
        [
            predict_fn(images[i : i + batch_size]).numpy()
            for i in range(0, len(images), batch_size)
        ]
    )


def _test_scores(model, images, labels):
    """ACC / NMI / ARI of `model.predict_clusters` on `images`."""
    return clustering_scores(labels, _predict(model.predict_clusters, images))


def format_table(results, paper=None):
    """Markdown table `method | ACC | NMI | ARI` (with the paper's row if given)."""
    lines = [
        "| method | ACC | NMI | ARI |" + (" paper ACC / NMI / ARI |" if paper else ""),
        "|---|---|---|---|" + ("---|" if paper else ""),
    ]
    for method in METHODS:
        if method not in results:
            continue
        row = results[method]
        line = (
            f"| {METHOD_NAMES[method]} | {row['acc']:.3f} | {row['nmi']:.3f} | "
            f"{row['ari']:.3f} |"
        )
        if paper:
            nmi, ari, acc = paper[method]
            line += f" {acc:.2f} / {nmi:.2f} / {ari:.2f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


@gin.configurable("vc", denylist=["model_dir"])
def run(
    model_dir,
    dataset="fashion_mnist",
    data_dir=None,
    train_size=None,
    test_size=None,
    latent_dim=20,
    num_clusters=10,
    seed=0,
    strategy="default",
    methods=METHODS,
    cache_dir=None,
    pretraining="contrastive",
    pretrain_epochs=200,
    pretrain_batch_size=1024,
    pretrain_learning_rate=1e-3,
    contrastive_head_units=2000,
    contrastive_heads_input="features",
    contrastive_reconstruction_weight=1.0,
    initial_log_scale=-2.0,
    gmm_n_init=10,
    gmm_max_points=None,
    pixel_gmm_max_points=None,
    refit_every_epochs=10,
    refit_max_points=None,
    vade_epochs=100,
    vade_batch_size=256,
    vade_learning_rate=2e-3,
    vade_decay_epochs=10,
    vade_freeze_trunk=False,
    vade_optimizer="adam",
    epochs=1024,
    batch_size=256,
    learning_rate=1e-4,
    weight_decay=0.01,
    beta=0.1,
    gamma=1.0,
    delta=0.01,
    num_partition_samples=100,
    kl="bound",
    initial_temperature=1.0,
    final_temperature=0.5,
    anneal_steps=100000,
    initial_score_scale=1.0,
    noisy_counts=True,
    partition_weights="mean_responsibilities",
    partition_model="drpm",
    freeze_trunk=True,
    evaluate_every_epochs=0,
    plots=True,
    verbose=2,
):
    """Runs pretraining, the baselines and DRPM-VC; returns the results dict.

    Args:
      model_dir: run directory (rerun with the same one to resume).
      dataset, data_dir, train_size, test_size: see `load_vc_data`.
      latent_dim: l (20 for Fashion-MNIST, 10 for MNIST).
      num_clusters: K.
      seed: seed of everything (data subsets, initialisations, sampling).
      strategy: `trainers.strategy.get_strategy` name.
      methods: subset of ("gmm", "latent_gmm", "vade", "drpm_vc").
      cache_dir: pretraining cache (default: `<parent of model_dir>/vc_pretrain_cache`).
      pretraining: "contrastive" (the paper) or "reconstruction" (VaDE's).
      pretrain_*: epochs, batch size and Adam learning rate of the pretraining.
      contrastive_*: `ContrastivePretraining` head width, heads input and
        reconstruction weight.
      initial_log_scale: constant the log-scale head is reset to after the
        pretraining (the reference uses -2), or None to keep it.
      gmm_n_init, gmm_max_points: the latent GMM (restarts, subset size).
      pixel_gmm_max_points: subset size of the pixel GMM.
      refit_every_epochs: GMM refit period of the priors (0: never).
      refit_max_points: subset size of the refits.
      vade_*: VaDE epochs, batch size, learning rate (decayed by 0.95 every
        `vade_decay_epochs` epochs), whether the encoder trunk is frozen and the
        optimizer: "adam" (VaDE, the paper's main text) or "adamw" (weight
        decay `weight_decay`, the paper's appendix C.1.5 ablation).
      epochs, batch_size, learning_rate, weight_decay: DRPM-VC training (AdamW).
      beta, gamma, delta, num_partition_samples, kl, initial_score_scale,
        noisy_counts, partition_weights, partition_model, freeze_trunk:
        `DRPMVC` arguments (`partition_model="nearest_prior"`: the
        hard-assignment ablation without a partition model).
      evaluate_every_epochs: test-set ACC / NMI / ARI of VaDE and DRPM-VC in
        the epoch logs every this many epochs (0: only at the end).
      initial_temperature, final_temperature, anneal_steps: the exponential
        temperature schedule (`anneal_steps=None`: anneal over the whole run).
      plots: write the PNG pictures.
      verbose: `fit` verbosity.

    Returns:
      `{method: {"acc", "nmi", "ari"}}` on the test set.
    """
    start = time.time()
    os.makedirs(model_dir, exist_ok=True)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(
            f"`methods` must be a subset of {METHODS}. "
            f"Received: methods={tuple(methods)!r}"
        )
    if vade_optimizer not in ("adam", "adamw"):
        raise ValueError(
            "`vade_optimizer` must be 'adam' or 'adamw'. "
            f"Received: vade_optimizer={vade_optimizer!r}"
        )
    training.set_seeds(seed)
    train_images, _, test_images, test_labels = load_vc_data(
        dataset=dataset,
        data_dir=data_dir,
        train_size=train_size,
        test_size=test_size,
        seed=seed,
        num_classes=num_clusters,
    )
    timings = {}
    results_path = os.path.join(model_dir, "baseline_results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)

    # 1. Pretraining (cached).
    cache_dir = cache_dir or os.path.join(
        os.path.dirname(os.path.abspath(model_dir)), "vc_pretrain_cache"
    )
    pretrain_config = {
        "dataset": dataset,
        "train_size": train_size,
        "latent_dim": latent_dim,
        "num_clusters": num_clusters,
        "kind": pretraining,
        "epochs": pretrain_epochs,
        "batch_size": pretrain_batch_size,
        "learning_rate": pretrain_learning_rate,
        "seed": seed,
        "head_units": contrastive_head_units,
        "heads_input": contrastive_heads_input,
        "reconstruction_weight": contrastive_reconstruction_weight,
        "num_train": len(train_images),
    }
    t0 = time.time()
    autoencoder, weights_path, cached = pretrain_autoencoder(
        train_images, cache_dir, pretrain_config, strategy=strategy, verbose=verbose
    )
    timings["pretraining_s"] = time.time() - t0
    print(
        f"[vc] pretraining ({pretraining}) {'loaded from' if cached else 'written to'} "
        f"{weights_path} ({timings['pretraining_s']:.1f} s)",
        flush=True,
    )

    # 2. Latent GMM: the baseline and the initial priors.
    t0 = time.time()
    gmm, init_parameters = latent_gmm_priors(
        autoencoder,
        train_images,
        num_clusters,
        seed=seed,
        n_init=gmm_n_init,
        max_points=gmm_max_points,
    )
    if "latent_gmm" in methods:
        results["latent_gmm"] = clustering_scores(
            test_labels, gmm.predict(encode_means(autoencoder, test_images))
        )
    timings["latent_gmm_s"] = time.time() - t0

    # 3. GMM on pixels.
    if "gmm" in methods and "gmm" not in results:
        from sklearn import mixture  # pylint: disable=g-import-not-at-top

        t0 = time.time()
        pixels = train_images.reshape(len(train_images), -1).astype(np.float64) / 255.0
        if pixel_gmm_max_points and len(pixels) > pixel_gmm_max_points:
            pixels = pixels[
                np.random.RandomState(seed).choice(
                    len(pixels), pixel_gmm_max_points, replace=False
                )
            ]
        pixel_gmm = mixture.GaussianMixture(
            num_clusters,
            covariance_type="diag",
            init_params="k-means++",
            reg_covar=1e-3,
            random_state=seed,
        ).fit(pixels)
        results["gmm"] = clustering_scores(
            test_labels,
            pixel_gmm.predict(
                test_images.reshape(len(test_images), -1).astype(np.float64) / 255.0
            ),
        )
        timings["gmm_s"] = time.time() - t0
    training.write_json(results_path, results)

    steps_per_epoch = num_set_batches(len(train_images), batch_size)

    # 4. VaDE.
    if "vade" in methods:
        t0 = time.time()
        vade_steps = num_set_batches(len(train_images), vade_batch_size)

        def vade_fn():
            model = VaDE(
                _fresh_autoencoder(latent_dim, weights_path, initial_log_scale),
                num_clusters=num_clusters,
                freeze_trunk=vade_freeze_trunk,
                seed=seed,
            )
            model.build()
            model.prior.assign_parameters(*init_parameters)
            return model

        vade_result = training.train(
            model_dir=os.path.join(model_dir, "vade"),
            model_fn=vade_fn,
            data_fn=_data_fn(train_images, vade_batch_size),
            optimizer=lambda: _vade_optimizer(
                vade_optimizer,
                keras.optimizers.schedules.ExponentialDecay(
                    vade_learning_rate,
                    decay_steps=vade_decay_epochs * vade_steps,
                    decay_rate=0.95,
                    staircase=True,
                ),
                weight_decay,
            ),
            epochs=vade_epochs,
            strategy=strategy,
            seed=seed,
            callbacks_fn=lambda model: [
                PriorRefit(
                    train_images,
                    refit_every_epochs,
                    seed=seed,
                    max_points=refit_max_points,
                ),
                TestClustering(test_images, test_labels, evaluate_every_epochs),
            ],
            evaluate_fn=lambda model, _: _test_scores(model, test_images, test_labels),
            verbose=verbose,
        )
        results["vade"] = vade_result.results
        timings["vade_s"] = time.time() - t0

    # 5. DRPM-VC.
    model = None
    if "drpm_vc" in methods:
        t0 = time.time()
        total_steps = epochs * steps_per_epoch

        def drpm_fn():
            model = DRPMVC(
                _fresh_autoencoder(latent_dim, weights_path, initial_log_scale),
                num_clusters=num_clusters,
                beta=beta,
                gamma=gamma,
                delta=delta,
                num_partition_samples=num_partition_samples,
                kl=kl,
                initial_temperature=initial_temperature,
                initial_score_scale=initial_score_scale,
                noisy_counts=noisy_counts,
                partition_weights=partition_weights,
                partition_model=partition_model,
                freeze_trunk=freeze_trunk,
                seed=seed,
            )
            model.build()
            model.prior.assign_parameters(*init_parameters)
            return model

        def callbacks_fn(model):
            return [
                ExponentialTemperatureSchedule(
                    initial_temperature,
                    final_temperature,
                    decay_steps=int(anneal_steps or total_steps),
                    variables=[model.temperature],
                ),
                PriorRefit(
                    train_images,
                    refit_every_epochs,
                    seed=seed,
                    max_points=refit_max_points,
                ),
                TestClustering(test_images, test_labels, evaluate_every_epochs),
            ]

        drpm_result = training.train(
            model_dir=os.path.join(model_dir, "drpm_vc"),
            model_fn=drpm_fn,
            data_fn=_data_fn(train_images, batch_size),
            optimizer=lambda: keras.optimizers.AdamW(
                learning_rate, weight_decay=weight_decay
            ),
            epochs=epochs,
            strategy=strategy,
            seed=seed,
            callbacks_fn=callbacks_fn,
            evaluate_fn=lambda model, _: _test_scores(model, test_images, test_labels),
            verbose=verbose,
        )
        results["drpm_vc"] = drpm_result.results
        model = drpm_result.model
        timings["drpm_vc_s"] = time.time() - t0

    # 6. Table, pictures, results.
    paper = {"fashion_mnist": PAPER_FMNIST, "mnist": PAPER_MNIST}.get(dataset)
    table = format_table(results, paper)
    pictures = {}
    if plots and model is not None:
        pictures["partition_sample"] = vc_plots.plot_partition_sample(
            model, os.path.join(model_dir, "partition_sample.png"), seed=seed
        )
        pictures["prior_samples"] = vc_plots.plot_prior_samples(
            model, os.path.join(model_dir, "prior_samples.png"), seed=seed
        )
    timings["total_s"] = time.time() - start
    summary = {
        "results": results,
        "timings": timings,
        "pictures": pictures,
        "dataset": dataset,
        "seed": seed,
        "num_train": len(train_images),
        "num_test": len(test_images),
        "kl": kl,
        "noisy_counts": noisy_counts,
        "partition_weights": partition_weights,
        "partition_model": partition_model,
        "pretrain_cache": weights_path,
    }
    training.write_json(os.path.join(model_dir, "results.json"), summary)
    with open(os.path.join(model_dir, "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(model_dir, "operative_config.gin"), "w") as f:
        f.write(gin.operative_config_str())
    print(
        f"\n[vc] {dataset}, test set ({len(test_images)} images), seed {seed}, "
        f"kl={kl}, {timings['total_s']:.0f} s\n" + table,
        flush=True,
    )
    return results


if __name__ == "__main__":
    cli.run(run)
