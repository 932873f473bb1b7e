"""How often DRPM-VC's most likely partition misses the nearest prior.

For the pretrained quick-protocol model of one seed (its cached weights and the
Latent GMM priors fitted as `trainers.vc` fits them) this draws random training
batches and, for each choice of `DRPMVC(partition_weights=...)`, compares the
noiseless subset sizes with the nearest-prior counts and the Monte Carlo
partitions of the training loss (noiseless sizes, Gumbel-perturbed orderings,
`vc.noisy_counts = False`) with the nearest-prior assignment. Prints one JSON
line per choice:

  {"partition_weights", "seed", "batch_size", "batches", "size_error_per_batch",
   "misassigned_fraction"}

Needs the pretraining cache of the quick protocol, so run `make demo` (seed 0)
or `python -m trainers.vc --gin_file gin/vc/fmnist_quick.gin --gin_param
vc.seed=N` first.

Usage:
  python benchmarks/vc_partition_weights.py [--seed 0] [--batches 20]
"""

import argparse
import json
import os

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--partition_samples", type=int, default=20)
    parser.add_argument(
        "--cache_dir", default=os.path.join(_REPO, "runs", "vc_pretrain_cache")
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import gin
    import tensorflow as tf

    from tf_drpm.models.drpm_variational_clustering import DRPMVC
    from tf_drpm.models.gaussian_mixture_prior import GaussianMixturePrior
    from tf_drpm.ops.gumbel import sample_gumbel
    from trainers import vc

    gin.parse_config_file(os.path.join(_REPO, "gin", "vc", "fmnist_quick.gin"))
    num_clusters = gin.query_parameter("vc.num_clusters")
    latent_dim = gin.query_parameter("vc.latent_dim")
    wanted = {
        "seed": args.seed,
        "kind": gin.query_parameter("vc.pretraining"),
        "epochs": gin.query_parameter("vc.pretrain_epochs"),
        "latent_dim": latent_dim,
        "reconstruction_weight": gin.query_parameter(
            "vc.contrastive_reconstruction_weight"
        ),
    }
    weights_path = None
    for key in (
        sorted(os.listdir(args.cache_dir)) if os.path.isdir(args.cache_dir) else []
    ):
        config_path = os.path.join(args.cache_dir, key, "pretrain_config.json")
        path = os.path.join(args.cache_dir, key, "autoencoder.weights.h5")
        if os.path.exists(config_path) and os.path.exists(path):
            with open(config_path) as f:
                config = json.load(f)
            if all(config.get(name) == value for name, value in wanted.items()):
                weights_path = path
    if weights_path is None:
        raise SystemExit(
            f"No pretrained quick-protocol model for seed {args.seed} under "
            f"{args.cache_dir}; run the quick protocol for that seed first."
        )
    train_images, _, _, _ = vc.load_vc_data(
        dataset="fashion_mnist", seed=args.seed, num_classes=num_clusters
    )
    autoencoder = vc._fresh_autoencoder(latent_dim, weights_path, -2.0)
    prior = GaussianMixturePrior(num_clusters, latent_dim)
    prior.build()
    prior.refit(
        vc.encode_means(autoencoder, train_images),
        seed=args.seed,
        n_init=gin.query_parameter("vc.gmm_n_init"),
    )
    parameters = [v.numpy() for v in (prior.log_weights, prior.means, prior.log_scales)]

    for partition_weights in ("mean_responsibilities", "nearest_prior_counts"):
        model = DRPMVC(
            autoencoder,
            num_clusters=num_clusters,
            partition_weights=partition_weights,
        )
        model.build()
        model.prior.assign_parameters(*parameters)
        rng = np.random.RandomState(args.seed)
        size_errors, misassigned = [], []
        for batch in range(args.batches):
            index = rng.choice(len(train_images), args.batch_size, replace=False)
            images = autoencoder.flatten(tf.constant(train_images[index]))
            mean, log_scale = autoencoder.encode(images)
            log_weights, log_scores, kl = model.partition_parameters(mean, log_scale)
            nearest = np.argmin(kl.numpy(), axis=-1)
            perturbed = log_scores + sample_gumbel(
                [args.partition_samples, args.batch_size], seed=[batch, args.seed]
            )
            sample = model.posterior_partition(
                log_weights, perturbed, stochastic=False
            ).sample_with_details(seed=[batch, 1], return_permutation=False)
            histogram = np.bincount(nearest, minlength=num_clusters)
            size_errors.append(
                np.abs(sample["counts"].numpy()[0] - histogram).sum() / 2
            )
            assigned = np.argmax(sample["partition"].numpy(), axis=1)  # [L, n]
            misassigned.append(np.mean(assigned != nearest[None]))
        print(
            json.dumps(
                {
                    "partition_weights": partition_weights,
                    "seed": args.seed,
                    "batch_size": args.batch_size,
                    "batches": args.batches,
                    "size_error_per_batch": float(np.mean(size_errors)),
                    "misassigned_fraction": float(np.mean(misassigned)),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
