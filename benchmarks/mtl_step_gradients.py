"""The size-bias gradients DRPM-MTL's train steps apply, against fixed-weight probes.

A run of `trainers.mtl` with `mtl_model.track_size_gradients = True` logs, per
epoch, the mean over its train steps of each task loss's centred gradient on
the size map's bias `b` (`size_gradient_step/<task>_loss/<subset>`), the
objective's (`size_gradient_step/net/<subset>`) and the optimizer's change of
`b` (`size_update_step/<subset>`). This script prints one JSON object with

* `epochs`: those per-epoch values for the right subset, with `right_size`;
* with `--checkpoint E` (the run keeps its newest two checkpoints, E and E-1):
  - `fixed_at_checkpoint`: the gradient on `b_right` of each task loss at the
    weights of checkpoint E, training mode, averaged over every batch of the
    next epoch's training data (the weights do not move);
  - `replay`: epoch E retrained from checkpoint E-1 with its optimizer state
    and the run's temperature schedule (same batches; not bit-identical to
    the run), the in-step means it logs, and the same fixed-weight gradient
    at its end point.

Usage (the 20-epoch tracking run of docs/multitask.md):
  python benchmarks/mtl_step_gradients.py --run_dir runs/mtl_track --checkpoint 20
"""

import argparse
import json
import os
import sys

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)  # `trainers` runs from the checkout (it is not installed)

_KEYS = ("size_gradient_step/left_loss/right", "size_gradient_step/right_loss/right",
         "size_gradient_step/net/right", "size_update_step/right", "right_size")


def _short(key):
    return key.replace("size_gradient_step/", "").replace("size_update_step/", "update/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run_dir", required=True)
    parser.add_argument("--checkpoint", type=int, default=None)
    args = parser.parse_args()
    with open(os.path.join(args.run_dir, "epochs.jsonl")) as f:
        records = [json.loads(line) for line in f]
    result = {"run_dir": args.run_dir, "epochs": [
        {"epoch": r["epoch"], **{_short(k): r["logs"][k] for k in _KEYS}} for r in records]}
    if args.checkpoint is not None:
        result.update(_probe(args.run_dir, args.checkpoint))
    print(json.dumps(result, sort_keys=True))


def _probe(run_dir, epoch):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import gin
    import keras
    import tensorflow as tf

    from tf_drpm.callbacks import ExponentialTemperatureSchedule
    from trainers.mtl import driver

    gin.parse_config_files_and_bindings([os.path.join(run_dir, "config.gin")], [])

    def data(first):
        return driver.mtl_data(initial_epoch=first, epochs=first + 1, seed=0)

    def load(checkpoint):
        keras.utils.set_random_seed(0)
        model = driver.mtl_model()
        # The run's Adam (its slots come from the checkpoint).
        model.compile(optimizer=keras.optimizers.Adam(
            gin.query_parameter("Adam.learning_rate")))
        model(next(iter(data(0).train))[0][:2], training=False)
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(run_dir, "checkpoints",
                                        f"epoch-{checkpoint:04d}.weights.h5"))
        return model

    def fixed_gradient(model, first):
        bias = model.partition.weights_bias
        rows = []
        for x, y in data(first).train:
            with tf.GradientTape(persistent=True) as tape:
                values = model.compute_losses((x, y), training=True)
            g = np.array([tape.gradient(values[f"{t}_loss"], bias).numpy()
                          for t in ("left", "right")])
            del tape
            rows.append((g - g.mean(1, keepdims=True))[:, 1])
        rows = np.array(rows)
        return {"left_loss/right": float(rows[:, 0].mean()),
                "right_loss/right": float(rows[:, 1].mean()),
                "right_loss/right_standard_error": float(
                    rows[:, 1].std() / np.sqrt(len(rows))),
                "batches": len(rows)}

    out = {"fixed_at_checkpoint": dict(checkpoint=epoch,
                                       **fixed_gradient(load(epoch), epoch))}
    model = load(epoch - 1)
    train = data(epoch - 1)
    schedule = [c for c in driver.mtl_callbacks(model)
                if isinstance(c, ExponentialTemperatureSchedule)]
    history = model.fit(train.train, epochs=epoch, initial_epoch=epoch - 1,
                        steps_per_epoch=train.steps_per_epoch, callbacks=schedule, verbose=0)
    out["replay"] = {"from_checkpoint": epoch - 1, "epoch": epoch,
                     **{_short(k): history.history[k][-1] for k in _KEYS},
                     "fixed_at_end": fixed_gradient(model, epoch)}
    return out


if __name__ == "__main__":
    main()
