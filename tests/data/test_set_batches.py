"""Tests of tf_drpm/data/set_batches.py."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.data.set_batches import num_set_batches
from tf_drpm.data.set_batches import set_batches


def _collect(dataset):
    return [tf.nest.map_structure(np.asarray, b) for b in dataset]


class SetBatchesTest(tf.test.TestCase, parameterized.TestCase):

    def test_drop_remainder_and_each_epoch_a_permutation(self):
        x = np.arange(10, dtype=np.int64)
        batches = _collect(set_batches(x, 3, seed=5, epochs=2))
        self.assertLen(batches, 2 * num_set_batches(10, 3))  # 3 per epoch
        self.assertEqual(num_set_batches(10, 3), 3)
        for b in batches:
            self.assertEqual(b.shape, (3,))
        for epoch in range(2):
            seen = np.concatenate(batches[3 * epoch:3 * epoch + 3])
            self.assertLen(np.unique(seen), 9)  # no repeats within an epoch
        # Static batch shape (XLA-friendly) and known length.
        dataset = set_batches(x, 3, seed=5, epochs=2)
        self.assertEqual(dataset.element_spec.shape.as_list(), [3])
        self.assertEqual(int(dataset.cardinality()), 6)

    def test_keep_remainder_in_order(self):
        x = np.arange(10, dtype=np.int64)
        y = 100 + x
        batches = _collect(set_batches(x, 4, labels=y, shuffle=False,
                                       drop_remainder=False, epochs=1))
        self.assertLen(batches, 3)
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
        self.assertEqual(num_set_batches(10, 4, drop_remainder=False), 3)

    def test_seeded_and_resumable(self):
        x = np.arange(50, dtype=np.int64)
        full = _collect(set_batches(x, 8, seed=3, epochs=4))
        again = _collect(set_batches(x, 8, seed=3, epochs=4))
        resumed = _collect(set_batches(x, 8, seed=3, initial_epoch=2, epochs=4))
        other = _collect(set_batches(x, 8, seed=4, epochs=4))
        for a, b in zip(full, again):
            np.testing.assert_array_equal(a, b)
        # A stream started at epoch 2 equals the tail of the full stream.
        self.assertLen(resumed, 12)
        for a, b in zip(full[12:], resumed):
            np.testing.assert_array_equal(a, b)
        self.assertFalse(all(np.array_equal(a, b) for a, b in zip(full, other)))
        # Epochs differ from each other.
        self.assertFalse(np.array_equal(np.concatenate(full[:6]), np.concatenate(full[6:12])))

    def test_shuffle_is_uniform(self):
        # Each epoch is one batch holding a permutation of n elements; the
        # frequency of "element e at position r" is ~ 1/n for every (r, e),
        # within 5 binomial standard deviations.
        n, epochs = 6, 1500
        x = np.arange(n, dtype=np.int64)
        batches = next(iter(set_batches(x, n, seed=0, epochs=epochs).batch(epochs))).numpy()
        freq = np.stack([np.bincount(batches[:, r], minlength=n) for r in range(n)]) / epochs
        tolerance = 5 * np.sqrt((1 / n) * (1 - 1 / n) / epochs)
        self.assertAllClose(freq, np.full((n, n), 1 / n), atol=tolerance)

    def test_dict_features_map_and_augmented_views(self):
        features = {"image": np.arange(12, dtype=np.float32).reshape(6, 2),
                    "id": np.arange(6)}

        def augment(batch, seed):
            noise = tf.random.stateless_normal(tf.shape(batch["image"]), seed)
            return batch["image"] + noise

        dataset = set_batches(features, 3, seed=1, epochs=1,
                              map_fn=lambda b: {**b, "image": 2.0 * b["image"]},
                              augment_fn=augment, num_augmented_views=2)
        batches = _collect(dataset)
        self.assertLen(batches, 2)
        original, view_1, view_2 = batches[0]
        np.testing.assert_array_equal(original["image"], 2.0 * np.stack(
            [np.arange(12, dtype=np.float32).reshape(6, 2)[i] for i in original["id"]]))
        self.assertEqual(view_1.shape, (3, 2))
        self.assertFalse(np.allclose(view_1, view_2))  # independent seeds per view
        # Augmentations are seeded: the same pipeline gives the same views.
        again = _collect(set_batches(features, 3, seed=1, epochs=1,
                                     map_fn=lambda b: {**b, "image": 2.0 * b["image"]},
                                     augment_fn=augment, num_augmented_views=2))
        np.testing.assert_array_equal(again[0][1], view_1)

    @parameterized.named_parameters(
        ("zero_batch", dict(batch_size=0), "Received: batch_size=0"),
        ("too_few", dict(batch_size=20), "An epoch has no batch"),
        ("epochs", dict(batch_size=2, initial_epoch=3, epochs=2), "Received: initial_epoch=3"),
    )
    def test_bad_arguments(self, kwargs, message):
        with self.assertRaisesRegex(ValueError, message):
            set_batches(np.arange(10), **kwargs)

    def test_mismatched_labels(self):
        with self.assertRaisesRegex(ValueError, "same first dimension"):
            set_batches(np.arange(10), 2, labels=np.arange(9))


if __name__ == "__main__":
    tf.test.main()
