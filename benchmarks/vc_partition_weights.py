"""How often DRPM-VC's most likely partition misses the nearest prior.

For the pretrained model of a finished `trainers.vc` run (the cached weights its
`results.json` names, the Latent GMM priors fitted as the run fits them, and the
run's operative gin config) this draws random training
batches and, for each choice of `DRPMVC(partition_weights=...)`, compares the
noiseless subset sizes with the nearest-prior counts and the Monte Carlo
partitions of the training loss (noiseless sizes, Gumbel-perturbed orderings,
`vc_model.noisy_counts = False`) with the nearest-prior assignment. Prints one JSON
line per choice:

  {"partition_weights", "seed", "batch_size", "batches", "size_error_per_batch",
   "misassigned_fraction"}

Run `make demo` (seed 0, into runs/demo) or `python -m trainers.vc --gin_file
gin/vc/fmnist_quick.gin --gin_param vc_experiment.seed=N --model_dir DIR` first
(a run of this version: it reads the run's `latent_gmm_priors.npz`).

Usage:
  python benchmarks/vc_partition_weights.py [--run_dir runs/demo] [--batches 20]
"""

import argparse
import json
import os
import sys

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)  # `trainers` runs from the checkout (it is not installed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run_dir", default=os.path.join(_REPO, "runs", "demo"))
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import gin
    import tensorflow as tf

    from tf_drpm.clustering import DRPMVC
    from tf_drpm.clustering import MLPAutoencoder
    from tf_drpm.ops.gumbel import sample_gumbel
    from trainers.vc import driver

    results_path = os.path.join(args.run_dir, "results.json")
    if not os.path.exists(results_path):
        raise SystemExit(
            f"No finished trainers.vc run in {args.run_dir} (no results.json); "
            "run `make demo` first or pass --run_dir."
        )
    with open(results_path) as f:
        run = json.load(f)
    gin.parse_config_file(os.path.join(args.run_dir, "operative_config.gin"))
    seed = run["seed"]
    train_images = driver.vc_dataset()[0]
    with gin.config_scope("drpm_vc"):
        batch_size = gin.get_bindings("vc_data")["batch_size"]
        model_bindings = gin.get_bindings("vc_model")
    partition_samples = model_bindings["num_partition_samples"]
    # The pretrained weights and the Latent GMM priors the run used.
    prior = np.load(os.path.join(args.run_dir, "latent_gmm_priors.npz"))
    parameters = [prior[k] for k in ("log_weights", "means", "log_scales")]
    num_clusters, latent_dim = parameters[1].shape
    autoencoder = MLPAutoencoder(latent_dim=latent_dim, name="autoencoder")
    autoencoder.build()
    autoencoder.load_weights(run["pretrain_cache"])
    autoencoder.reset_log_scale_head(model_bindings.get("initial_log_scale", -2.0))

    for partition_weights in ("mean_responsibilities", "nearest_prior_counts"):
        model = DRPMVC(
            autoencoder,
            num_clusters=num_clusters,
            partition_weights=partition_weights,
        )
        model.build()
        model.prior.assign_parameters(*parameters)
        rng = np.random.RandomState(seed)
        size_errors, misassigned = [], []
        for batch in range(args.batches):
            index = rng.choice(len(train_images), batch_size, replace=False)
            images = autoencoder.flatten(tf.constant(train_images[index]))
            mean, log_scale = autoencoder.encode(images)
            log_weights, log_scores, kl = model.partition_parameters(mean, log_scale)
            nearest = np.argmin(kl.numpy(), axis=-1)
            perturbed = log_scores + sample_gumbel(
                [partition_samples, batch_size], seed=[batch, seed]
            )
            sample = model.posterior_partition(
                log_weights, perturbed
            ).noiseless_partition_with_details(return_permutation=False)
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
                    "seed": seed,
                    "batch_size": batch_size,
                    "batches": args.batches,
                    "size_error_per_batch": float(np.mean(size_errors)),
                    "misassigned_fraction": float(np.mean(misassigned)),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
