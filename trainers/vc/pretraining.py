"""The pretraining of the clustering auto-encoder, cached on disk by its config.

`pretrain_autoencoder` trains an `MLPAutoencoder` (contrastive or reconstruction
pretraining) with the shared trainer once per configuration and stores its
weights under `<cache_dir>/<hash of the config>/autoencoder.weights.h5`; later
runs with the same configuration load them.
"""

import hashlib
import json
import os

import gin
import keras

from tf_drpm.clustering import ContrastivePretraining
from tf_drpm.clustering import MLPAutoencoder
from tf_drpm.data import num_set_batches
from tf_drpm.data import set_batches
from trainers.core import run_directory
from trainers.core import training

__all__ = ["pretrain_autoencoder", "set_batch_data_fn", "vc_pretraining"]


def set_batch_data_fn(images, batch_size):
    """A `train.data_fn`: shuffled set batches of `images` (a batch is one set)."""
    steps = num_set_batches(len(images), batch_size)

    def data_fn(initial_epoch, epochs, seed):
        return training.TrainData(
            train=set_batches(images, batch_size, shuffle=True, seed=seed,
                              initial_epoch=initial_epoch, epochs=epochs),
            steps_per_epoch=steps,
        )

    return data_fn


@gin.configurable("vc_pretraining")
def vc_pretraining(kind="contrastive", epochs=200, batch_size=1024, learning_rate=1e-3,
                   head_units=2000, heads_input="features", reconstruction_weight=1.0):
    """The pretraining settings (a dict, the cache key with the data and seed).

    Args:
      kind: "contrastive" (the paper, `ContrastivePretraining`) or
        "reconstruction" (VaDE's).
      epochs, batch_size, learning_rate: Adam pretraining.
      head_units, heads_input, reconstruction_weight: `ContrastivePretraining`
        head width, heads input and reconstruction weight.
    """
    if kind not in ("contrastive", "reconstruction"):
        raise ValueError(
            "`vc_pretraining.kind` must be 'contrastive' or 'reconstruction'. "
            f"Received: kind={kind!r}")
    return {"kind": kind, "epochs": epochs, "batch_size": batch_size,
            "learning_rate": learning_rate, "head_units": head_units,
            "heads_input": heads_input, "reconstruction_weight": reconstruction_weight}


def _config_key(config):
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def pretrain_autoencoder(images, cache_dir, config):
    """Pretrains an `MLPAutoencoder`, or loads it from the cache.

    Args:
      images: training images `[N, 28, 28]` uint8.
      cache_dir: cache directory; the weights are stored under
        `cache_dir/<hash of config>/autoencoder.weights.h5`.
      config: dict with `dataset`, `latent_dim`, `num_clusters`, `seed` and
        the settings of `vc_pretraining` (`kind`, `epochs`, `batch_size`,
        `learning_rate`, `head_units`, `heads_input`, `reconstruction_weight`).

    Returns:
      `(autoencoder, weights_path, cached)`; `weights_path` is where this
      process wrote the weights (`run_directory.output_path`) unless `cached`.
    """
    run_dir = os.path.join(cache_dir, _config_key(config))
    weights_path = os.path.join(run_dir, "autoencoder.weights.h5")
    autoencoder = MLPAutoencoder(latent_dim=config["latent_dim"], name="autoencoder")
    autoencoder.build()
    if os.path.exists(weights_path):
        autoencoder.load_weights(weights_path)
        return autoencoder, weights_path, True
    os.makedirs(run_directory.output_path(run_dir), exist_ok=True)
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
        return model

    # The run directory `run/` is locked by `train` (one writer).
    result = training.train(
        model_dir=os.path.join(run_dir, "run"),
        model_fn=model_fn,
        data_fn=set_batch_data_fn(images, config["batch_size"]),
        optimizer=lambda: keras.optimizers.Adam(config["learning_rate"]),
        epochs=config["epochs"],
        seed=config["seed"],
        callbacks_fn=None,
        evaluate_fn=None,
        tensorboard=False,
    )
    model = result.model
    trained = model.autoencoder if isinstance(model, ContrastivePretraining) else model
    written = run_directory.output_path(weights_path)  # the chief's: weights_path
    trained.save_weights(written + ".tmp.weights.h5")
    os.replace(written + ".tmp.weights.h5", written)
    autoencoder.load_weights(written)
    return autoencoder, written, False
