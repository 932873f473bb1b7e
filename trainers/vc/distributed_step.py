"""DRPM-VC train steps on a tiny generated set under one `tf.distribute` set-up.

Runs the same DRPM-VC steps (same initial weights, data and seed) under the
default strategy, `MirroredStrategy` over logical CPUs, or one worker of a
`MultiWorkerMirroredStrategy` (the cluster from `TF_CONFIG`), and writes one
JSON object: the partitions of the global batch of the first step (each
replica's columns, all-gathered), the losses after each step, the weights after
them, the steps per second and the bytes all-gathered per step. The tests
(`tests/trainers/vc/test_distributed_step.py`) and
`benchmarks/distributed.py` compare the set-ups with it.

    python -m trainers.vc.distributed_step --strategy mirrored --num_cpus 2 \\
        --output /tmp/mirrored.json

One process per set-up: logical CPUs must be configured before TensorFlow
runs any op, and a worker of a multi-worker cluster is a process.
"""

import argparse
import json
import sys
import time

from trainers.core import run_directory
from trainers.core import workers

__all__ = ["gathered_bytes_per_step", "main", "run", "run_workers"]

NUM_CLUSTERS = 3
LATENT_DIM = 2
INPUT_DIM = 16
TRUNK_UNITS = (8, 8)


def gathered_bytes_per_step(num_elements, num_clusters, num_replicas, partition_weights,
                            float_bytes, partition_global_batch=True):
    """Bytes a replica receives from the all-gathers of one DRPM-VC step.

    The local sizes (`num_replicas` int32) and, with `partition_global_batch`,
    the nearest-prior indices of the global set (`num_elements` int32) and,
    with `"mean_responsibilities"`, the responsibilities
    `[num_elements, num_clusters]` floats. Their gradients are not needed
    (integers, or under `stop_gradient`), so the backward pass gathers
    nothing. With one replica nothing is gathered.
    """
    if num_replicas == 1:
        return 0
    total = 4 * num_replicas
    if partition_global_batch:
        total += 4 * num_elements
        if partition_weights == "mean_responsibilities":
            total += float_bytes * num_elements * num_clusters
    return total


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=("default", "mirrored", "multi_worker"),
                        default="default")
    parser.add_argument("--num_cpus", type=int, default=2,
                        help="Logical CPUs (replicas) of the mirrored strategy.")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--num_elements", type=int, default=8,
                        help="The global batch size, one set.")
    parser.add_argument("--steps", type=int, default=1, help="Compared train steps.")
    parser.add_argument("--timed_steps", type=int, default=0,
                        help="Further steps timed for steps per second (0: no timing).")
    parser.add_argument("--partition_weights", default="mean_responsibilities",
                        choices=("mean_responsibilities", "nearest_prior_counts"))
    parser.add_argument("--no_global_batch", action="store_true",
                        help="partition_global_batch=False (contrastive: global_negatives="
                             "False): each replica uses its own part of the batch.")
    parser.add_argument("--model", choices=("drpm_vc", "contrastive"), default="drpm_vc",
                        help="DRPM-VC, or the contrastive pretraining of its auto-encoder "
                             "(no partitions: `partition` is empty).")
    parser.add_argument("--startup_timeout", type=float, default=120.0,
                        help="multi_worker: seconds for every worker to join.")
    parser.add_argument("--output", required=True, help="JSON file (written by the chief).")
    return parser.parse_args(argv)


def run(args):
    """Runs the steps of `args` (see `_parse`) and returns the JSON-ready dict."""
    if args.strategy == "mirrored":
        from trainers.core import strategy as strategy_lib

        devices = strategy_lib.create_logical_cpu_devices(args.num_cpus)
    import keras
    import numpy as np
    import tensorflow as tf

    from tf_drpm.clustering.contrastive_pretraining import ContrastivePretraining
    from tf_drpm.clustering.drpm_variational_clustering import DRPMVC
    from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder

    keras.config.set_floatx(args.dtype)
    if args.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=devices)
    elif args.strategy == "multi_worker":
        from trainers.core import strategy as strategy_lib

        strategy = strategy_lib.get_strategy("multi_worker",
                                             startup_timeout=args.startup_timeout)
    else:
        strategy = tf.distribute.get_strategy()
    num_replicas = strategy.num_replicas_in_sync
    num_elements = args.num_elements

    rng = np.random.RandomState(0)
    images = rng.uniform(size=(num_elements, INPUT_DIM)).astype(args.dtype)
    with strategy.scope():
        autoencoder = MLPAutoencoder(
            latent_dim=LATENT_DIM, input_dim=INPUT_DIM, trunk_units=TRUNK_UNITS)
        if args.model == "contrastive":
            model = ContrastivePretraining(
                autoencoder, num_clusters=NUM_CLUSTERS, head_units=4, image_shape=(4, 4),
                global_negatives=not args.no_global_batch, seed=0)
        else:
            model = DRPMVC(
                autoencoder, num_clusters=NUM_CLUSTERS, beta=0.5, num_partition_samples=3,
                freeze_trunk=False, partition_weights=args.partition_weights,
                partition_global_batch=not args.no_global_batch, seed=0)
        model.build()
        weight_rng = np.random.RandomState(1)
        for weight in (autoencoder.weights if args.model == "drpm_vc"
                       else model.trainable_weights):
            weight.assign(0.5 * weight_rng.normal(size=weight.shape).astype(args.dtype))
        if args.model == "drpm_vc":
            model.prior.assign_parameters(
                weight_rng.randn(NUM_CLUSTERS),
                2.0 * weight_rng.randn(NUM_CLUSTERS, LATENT_DIM),
                0.1 * weight_rng.randn(NUM_CLUSTERS, LATENT_DIM))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(
        num_elements, drop_remainder=True).repeat()

    def gathered(value, axis):
        """`value` of every replica, concatenated along `axis` (first replica's copy)."""
        def replica_fn(value):
            context = tf.distribute.get_replica_context()
            if context.num_replicas_in_sync == 1:
                return value
            return context.all_gather(tf.identity(value), axis=axis)
        return strategy.experimental_local_results(
            strategy.run(tf.function(replica_fn), args=(value,)))[0]

    # The images of each replica and the first step's partitions of the global set.
    local_batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    seen_images = gathered(local_batch, axis=0)
    if args.model == "contrastive":  # no partitions
        partition = np.zeros((0, 0, num_elements))
    else:
        sample = tf.function(lambda images: model.sample_partitions(
            images, tf.constant([model.seed, 0], tf.int32), training=True))
        partition = gathered(strategy.run(sample, args=(local_batch,)), axis=2)

    initial = {w.path: np.asarray(w.numpy()) for w in model.weights}
    step_logs = []  # the trackers after each step (running means over the steps)
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: (
        step_logs.append({name: float(value) for name, value in logs.items()})))
    model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0, callbacks=[record])
    weights = {w.path: np.asarray(w.numpy()).tolist() for w in model.weights}
    weight_change = max(float(np.max(np.abs(np.subtract(weights[path], value))))
                        for path, value in initial.items() if "step_counter" not in path)
    steps_per_second = None
    if args.timed_steps:
        model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)  # traced already
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=args.timed_steps, verbose=0)
        steps_per_second = args.timed_steps / (time.perf_counter() - start)
    float_bytes = np.dtype(args.dtype).itemsize
    if args.model == "contrastive":
        # Both views' instance projections (latent size) and cluster probabilities.
        gathered_bytes = (0 if num_replicas == 1 or args.no_global_batch else
                          float_bytes * num_elements * 2 * (LATENT_DIM + NUM_CLUSTERS))
    else:
        gathered_bytes = gathered_bytes_per_step(
            num_elements, NUM_CLUSTERS, num_replicas, args.partition_weights, float_bytes,
            partition_global_batch=not args.no_global_batch)
    return {
        "strategy": args.strategy,
        "model": args.model,
        "num_replicas": num_replicas,
        "num_elements": num_elements,
        "dtype": args.dtype,
        "images_in_replica_order": bool(np.array_equal(np.asarray(seen_images), images)),
        "partition": np.asarray(partition).tolist(),
        "losses": {name: [logs[name] for logs in step_logs] for name in step_logs[0]},
        "weights": weights,
        "weight_change": weight_change,
        "steps_per_second": steps_per_second,
        "gathered_bytes_per_step": gathered_bytes,
    }


def run_workers(argv, **kwargs):
    """Runs `python -m trainers.vc.distributed_step --strategy multi_worker
    <argv>` on worker processes (`trainers.core.workers.run_workers`, whose
    keyword arguments `kwargs` are); the chief writes `--output`.

    Returns:
        The wall time in seconds.
    """
    return workers.run_workers(["--strategy", "multi_worker", *argv],
                               module="trainers.vc.distributed_step", **kwargs)


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    result = run(args)
    if args.strategy != "multi_worker" or run_directory.is_chief_process():
        with open(args.output, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
