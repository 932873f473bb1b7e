"""What moves DRPM-MTL's subset sizes between two epochs of a run.

DRPM-MTL's size logits are `log_weights = e W + b` (`e` the partition encoding,
`W`, `b` the size map of its `TaskPartition`); the subset sizes follow the gap
`log_weight_right - log_weight_left`. For two committed epoch checkpoints of a
finished `trainers.mtl` run (the run keeps the newest two) this loads both
models and, on the first `--examples` training pairs of the run's data, prints
one JSON object with

* `gap_first`, `gap_second`, `gap_change`: the mean gap at both epochs;
* `due_to_bias`, `due_to_kernel`, `due_to_encoder`: the change of the gap
  from `b` alone, from `W` alone (at the first epoch's encodings) and from the
  partition encoder alone (at the second epoch's `W`); they add up to
  `gap_change`;
* `sizes_first`, `sizes_second`: the mean noiseless subset sizes;
* `bias_gradient`: per task loss (rows: left, right) the gradient on `b`
  (columns: left, right subset), at the second epoch, in evaluation mode
  (`training=False`, as `SizeGradientProbe`) and in training mode (dropout,
  the training temperature); the MVHG is invariant to a common shift, so each
  row sums to zero and a negative entry asks for a larger subset;
* `adam_bias_momentum`: Adam's first moment of `b` in the second checkpoint
  (the recent training gradients, an exponential average over about ten
  steps), and `adam_bias_rms`, the square root of its second moment;
* `batch_signal_to_noise`: for the objective's gradient on the right subset's
  bias, |mean| / std over batches of 256 (training mode): how far one
  optimizer step's gradient is from noise.

Usage (a run of `gin/mtl/multi_fashion.gin`, its last two epochs):
  python benchmarks/mtl_size_drift.py --run_dir runs/mtl/drpm_0.6 --epochs 199,200
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
    parser.add_argument("--run_dir", required=True)
    parser.add_argument("--epochs", required=True, help="two epochs, e.g. 199,200")
    parser.add_argument("--examples", type=int, default=8192)
    args = parser.parse_args()
    first, second = (int(e) for e in args.epochs.split(","))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import gin
    import keras
    import tensorflow as tf

    from trainers.mtl import driver

    gin.parse_config_files_and_bindings([os.path.join(args.run_dir, "config.gin")], [])
    images, labels = driver._probe_set(args.examples)  # pylint: disable=protected-access

    def load(epoch):
        keras.utils.set_random_seed(0)  # the layers' seed generators (dropout draws)
        model = driver.mtl_model()
        model(images[:2], training=False)
        model.compile(optimizer=keras.optimizers.Adam())
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(args.run_dir, "checkpoints",
                                        f"epoch-{epoch:04d}.weights.h5"))
        return model

    def size_map(model):
        partition = model.partition
        encoding = np.concatenate([
            model.partition_encoder(images[i:i + 1024], training=False).numpy()
            for i in range(0, len(images), 1024)])
        return encoding, partition.weights_kernel.numpy(), partition.weights_bias.numpy()

    def gap(encoding, kernel, bias):
        log_weights = encoding @ kernel + bias
        return float(np.mean(log_weights[:, 1] - log_weights[:, 0]))

    def sizes(model):
        return np.concatenate([
            model(images[i:i + 1024], training=False)["sizes"].numpy()
            for i in range(0, len(images), 1024)]).mean(0).tolist()

    def bias_gradients(model, training):
        bias = model.partition.weights_bias
        rows = []
        for start in range(0, len(images), 256):
            x, y = images[start:start + 256], labels[start:start + 256]
            with tf.GradientTape(persistent=True) as tape:
                logits = model(x, training=training)["logits"]
                losses = [tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    y[:, t], logits[t])) for t in range(len(logits))]
            rows.append([tape.gradient(loss, bias).numpy() for loss in losses])
            del tape
        return np.array(rows)  # [batches, loss task, subset]

    m1, m2 = load(first), load(second)
    (e1, w1, b1), (e2, w2, b2) = size_map(m1), size_map(m2)
    zero = np.zeros_like(b1)
    result = {
        "run_dir": args.run_dir, "epochs": [first, second], "examples": len(images),
        "gap_first": gap(e1, w1, b1), "gap_second": gap(e2, w2, b2),
        "due_to_bias": float((b2 - b1)[1] - (b2 - b1)[0]),
        "due_to_kernel": gap(e1, w2, zero) - gap(e1, w1, zero),
        "due_to_encoder": gap(e2, w2, zero) - gap(e1, w2, zero),
        "sizes_first": sizes(m1), "sizes_second": sizes(m2),
    }
    result["gap_change"] = result["gap_second"] - result["gap_first"]
    for variable in m2.optimizer.variables:
        if variable.path.endswith("weights_bias_momentum"):
            result["adam_bias_momentum"] = variable.numpy().tolist()
        elif variable.path.endswith("weights_bias_velocity"):
            result["adam_bias_rms"] = np.sqrt(variable.numpy()).tolist()
    result["bias_gradient"] = {}
    for mode, training in (("evaluation", False), ("training", True)):
        per_batch = bias_gradients(m2, training)
        result["bias_gradient"][mode] = per_batch.mean(0).tolist()
        if training:
            objective = per_batch.mean(1)[:, 1]  # the mean task loss, right subset
            result["batch_signal_to_noise"] = float(
                abs(objective.mean()) / objective.std())
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
