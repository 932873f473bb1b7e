"""Tests for tf_drpm.multitask.drpm_multitask."""

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.multitask.drpm_multitask import DRPMMultitask
from tf_drpm.multitask.multi_lenet import MultiLeNet
from tf_drpm.multitask.multi_lenet_head import MultiLeNetHead


def _data(num=16, seed=0):
    rs = np.random.RandomState(seed)
    images = rs.uniform(size=(num, 28, 28, 1)).astype(np.float32)
    labels = rs.randint(0, 10, size=(num, 2)).astype(np.int32)
    return images, labels


def _model(**kwargs):
    return DRPMMultitask(
        MultiLeNet(latent_dim=50, name="encoder"),
        [MultiLeNetHead(10, name="left_head"), MultiLeNetHead(10, name="right_head")],
        partition_encoder=MultiLeNet(latent_dim=50, name="partition_encoder"),
        task_names=["left", "right"],
        **kwargs,
    )


class DRPMMultitaskTest(tf.test.TestCase):

    def test_outputs_partition_the_shared_layer(self):
        keras.utils.set_random_seed(0)
        images, _ = _data(num=4)
        model = _model(hard_permutation=True)
        out = model(images, training=False)
        self.assertLen(out["logits"], 2)
        self.assertEqual(out["logits"][0].shape, (4, 10))
        self.assertEqual(out["masks"].shape, (4, 2, 50))
        self.assertAllEqual(tf.reduce_sum(out["masks"], 1), tf.ones([4, 50]))
        self.assertAllEqual(tf.reduce_sum(out["sizes"], -1), tf.fill([4], 50.0))
        # Head t sees exactly z * y_t.
        head_input = out["features"] * out["masks"][:, 1]
        self.assertAllClose(model.heads[1](head_input, training=False), out["logits"][1])

    def test_size_warmup_holds_equal_sizes_then_learns(self):
        keras.utils.set_random_seed(3)
        images, _ = _data(num=6)
        model = _model(hard_permutation=True, size_warmup_steps=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.optimizer.build(model.trainable_variables)
        model(images)
        # Learnt sizes of this initialisation are far from 25 / 25.
        model.partition.weights_bias.assign([3.0, -3.0])
        learnt = model.partition(model.partition_encoder(images), training=True)
        self.assertNotAllEqual(learnt["sizes"], tf.fill([6, 2], 25.0))
        warm = model(images, training=True)
        self.assertAllEqual(warm["sizes"], tf.fill([6, 2], 25.0))
        self.assertAllEqual(tf.reduce_sum(warm["masks"], -1), tf.fill([6, 2], 25.0))
        model.optimizer.iterations.assign(2)
        after = model(images, training=True)  # (the encoders' dropout differs)
        self.assertNotAllEqual(after["sizes"], tf.fill([6, 2], 25.0))
        self.assertAllEqual(tf.reduce_sum(after["sizes"], -1), tf.fill([6], 50.0))
        # Evaluation always uses the learnt sizes.
        model.optimizer.iterations.assign(0)
        self.assertAllEqual(model(images, training=False)["sizes"],
                            model.partition(model.partition_encoder(images))["sizes"])
        with self.assertRaisesRegex(ValueError, "size_warmup_steps=-1"):
            _model(size_warmup_steps=-1)

    def test_regularizer_alone_equalizes_subset_sizes(self):
        # log Gamma is convex: descending lambda * sum_t lgamma(n_t + 1) alone
        # must move an unequal split (here 48 / 2) towards 25 / 25.
        keras.utils.set_random_seed(2)
        images, _ = _data(num=8)
        model = _model(temperature=1.0, regularization_weight=0.015)
        model(images[:1])
        model.partition.weights_bias.assign([3.0, -3.0])
        variables = [model.partition.weights_bias]
        optimizer = keras.optimizers.SGD(5.0)

        def gap():
            sizes = model(images, training=False)["sizes"].numpy()
            return float(np.mean(np.abs(sizes[:, 0] - sizes[:, 1])))

        initial_gap = gap()
        self.assertGreater(initial_gap, 20.0)
        for _ in range(20):
            with tf.GradientTape() as tape:
                outputs = model(images, training=True)
                loss = model._extra_losses(outputs)["regularization"]
            optimizer.apply(tape.gradient(loss, variables), variables)
        self.assertLess(gap(), initial_gap / 2)

    def test_gradients_reach_both_encoders_heads_and_partition(self):
        keras.utils.set_random_seed(1)
        images, labels = _data(num=8)
        model = _model(temperature=1.0, regularization_weight=0.015)
        model(images[:1])
        with tf.GradientTape() as tape:
            loss = model.compute_losses((images, labels), training=False)["loss"]
        variables = model.trainable_variables
        gradients = tape.gradient(loss, variables)
        paths = [v.path for v in variables]
        self.assertTrue(any("partition_encoder" in p for p in paths))
        self.assertTrue(any("task_partition" in p for p in paths))
        for variable, gradient in zip(variables, gradients):
            self.assertIsNotNone(gradient, msg=variable.path)
            self.assertTrue(np.all(np.isfinite(gradient)), msg=variable.path)
            self.assertGreater(np.abs(gradient).max(), 0.0, msg=variable.path)

    def test_evaluate_matches_manual_loss(self):
        keras.utils.set_random_seed(2)
        images, labels = _data()
        model = _model(regularization_weight=0.015, evaluation_temperature=0.5)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        result = model.evaluate(images, labels, batch_size=16, verbose=0, return_dict=True)
        out = model(images, training=False)
        ce = [
            np.mean(keras.losses.sparse_categorical_crossentropy(
                labels[:, t], out["logits"][t], from_logits=True))
            for t in range(2)
        ]
        sizes = out["sizes"].numpy()
        from scipy.special import gammaln
        regularization = 0.015 * np.mean(np.sum(gammaln(sizes + 1.0), -1))
        self.assertAllClose(result["task_loss"], np.mean(ce), rtol=1e-5)
        self.assertAllClose(result["regularization"], regularization, rtol=1e-5)
        self.assertAllClose(result["loss"], np.mean(ce) + regularization, rtol=1e-5)
        self.assertAllClose(result["left_size"], sizes[:, 0].mean(), rtol=1e-5)
        self.assertAllClose(result["left_size"] + result["right_size"], 50.0, rtol=1e-5)

    def test_one_train_step(self):
        keras.utils.set_random_seed(3)
        images, labels = _data()
        model = _model(temperature=1.0)
        # Eager to keep the test fast; tests/trainers/mtl/test_driver.py fits in graph mode.
        model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
        model(images[:1])
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        self.assertCountEqual(
            history.history.keys(),
            ["loss", "task_loss", "left_accuracy", "right_accuracy", "mean_accuracy",
             "left_size", "right_size"],
        )
        self.assertAllClose(
            history.history["left_size"][0] + history.history["right_size"][0], 50.0)
        changed = [not np.allclose(b, w.numpy())
                   for b, w in zip(before, model.trainable_weights)]
        self.assertTrue(all(changed))
        self.assertAllClose(model.temperature, 1.0)  # not trainable

    def test_without_partition_encoder_three_binary_tasks(self):
        keras.utils.set_random_seed(4)
        encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(64)])
        model = DRPMMultitask(
            encoder, [keras.layers.Dense(2) for _ in range(3)], regularization_weight=0.015
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        images = np.random.RandomState(0).uniform(size=(4, 8, 8, 3)).astype(np.float32)
        labels = np.random.RandomState(1).randint(0, 2, size=(4, 3)).astype(np.int32)
        history = model.fit(images, labels, batch_size=4, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        self.assertAllClose(
            sum(history.history[f"task{t}_size"][0] for t in range(3)), 64.0)

    def test_stochastic_model_still_samples_at_evaluation(self):
        # The model's behaviour is kept: with stochastic=True its evaluation
        # samples the partition (as before RandomPartition followed Keras'
        # training semantics); sample_at_inference=False opts out.
        keras.utils.set_random_seed(4)
        images, _ = _data(num=4)
        model = _model(stochastic=True, hard_permutation=True, seed=1)
        first, second = model(images, training=False), model(images, training=False)
        self.assertNotAllEqual(first["masks"], second["masks"])
        self.assertTrue(model.get_config()["sample_at_inference"])
        noiseless = _model(stochastic=True, hard_permutation=True, seed=1,
                           sample_at_inference=False)
        first, second = noiseless(images, training=False), noiseless(images, training=False)
        self.assertAllEqual(first["masks"], second["masks"])

    def test_tracked_size_gradients_are_the_steps_and_change_nothing(self):
        images, labels = _data(num=32)

        def fit(track, steps=2):
            keras.utils.set_random_seed(5)
            model = _model(temperature=1.0, track_size_gradients=track)
            model.compile(optimizer=keras.optimizers.Adam(1e-2))
            model(images[:1])
            start = [w.numpy().copy() for w in model.trainable_weights]
            history = model.fit(images, labels, batch_size=16, epochs=1,
                                steps_per_epoch=steps, shuffle=False, verbose=0,
                                validation_data=(images[:16], labels[:16]))
            return model, start, history.history

        plain, start, plain_logs = fit(False)
        tracked, tracked_start, logs = fit(True)
        for a, b in zip(start, tracked_start):
            self.assertAllEqual(a, b)
        # Tracking changes neither the weights nor the other logs.
        for a, b in zip(plain.trainable_weights, tracked.trainable_weights):
            self.assertAllEqual(a, b)
        for key, value in plain_logs.items():
            self.assertAllEqual(value, logs[key], msg=key)
        # Evaluation reports the usual values, not the train-only ones.
        self.assertEqual({k for k in logs if k.startswith("val_")},
                         {k for k in plain_logs if k.startswith("val_")})
        self.assertIn("size_update_step/right", logs)

        # One step from the same start, by hand: the centred gradients of the
        # task losses and of the objective on b, and Adam's change of b.
        keras.utils.set_random_seed(5)
        model = _model(temperature=1.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model(images[:1])
        bias = model.partition.weights_bias
        with tf.GradientTape(persistent=True) as tape:
            losses = model.compute_losses((images[:16], labels[:16]), training=True)
        rows = [tape.gradient(losses[f"{t}_loss"], bias).numpy() for t in ("left", "right")]
        net = tape.gradient(losses["loss"], bias).numpy()
        before = bias.numpy().copy()
        model.optimizer.apply_gradients(zip(
            tape.gradient(losses["loss"], model.trainable_variables),
            model.trainable_variables))
        update = bias.numpy() - before
        _, _, step_logs = fit(True, steps=1)
        centred = lambda v: v - v.mean()  # noqa: E731
        for t, row in zip(("left", "right"), rows):
            for j, task in enumerate(("left", "right")):
                self.assertAllClose(step_logs[f"size_gradient_step/{t}_loss/{task}"][0],
                                    centred(row)[j], rtol=1e-4, atol=1e-7)
        for j, task in enumerate(("left", "right")):
            self.assertAllClose(step_logs[f"size_gradient_step/net/{task}"][0],
                                centred(net)[j], rtol=1e-4, atol=1e-7)
            self.assertAllClose(step_logs[f"size_update_step/{task}"][0],
                                centred(update)[j], rtol=1e-3, atol=1e-7)
        # The objective is the mean of the task losses (lambda = 0).
        self.assertAllClose(centred(net), centred(sum(rows) / 2), rtol=1e-4, atol=1e-7)
        self.assertNotAllClose(centred(update), np.zeros(2))

    def test_config_round_trip(self):
        model = _model(temperature=0.8, evaluation_temperature=0.5,
                       regularization_weight=0.01)
        clone = DRPMMultitask.from_config(model.get_config())
        self.assertEqual(clone.task_names, ["left", "right"])
        self.assertEqual(clone.regularization_weight, 0.01)
        self.assertEqual(clone.partition.initial_temperature, 0.8)
        self.assertEqual(clone.partition.evaluation_temperature, 0.5)
        self.assertIsInstance(clone.partition_encoder, MultiLeNet)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "regularization_weight=-0.1"):
            _model(regularization_weight=-0.1)
        with self.assertRaisesRegex(ValueError, "temperature=0"):
            _model(temperature=0)
        with self.assertRaisesRegex(ValueError, r"track_size_gradients=True with fixed_sizes"):
            _model(track_size_gradients=True, fixed_sizes=(25, 25))
        with self.assertRaisesRegex(ValueError, "track_size_gradients=1"):
            _model(track_size_gradients=1)


if __name__ == "__main__":
    tf.test.main()
