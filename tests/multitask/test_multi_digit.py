"""Tests for tf_drpm.multitask.multi_digit."""

import os

import numpy as np
import tensorflow as tf

from tf_drpm.multitask import multi_digit


def _source(num=40, seed=0):
    rs = np.random.RandomState(seed)
    images = rs.randint(0, 256, size=(num, 28, 28)).astype(np.uint8)
    labels = rs.randint(0, 10, size=num).astype(np.int64)
    return images, labels


def _expected_overlay(left, right):
    canvas = multi_digit.compose_canvas(left, right)[..., np.newaxis]
    resized = tf.image.resize(canvas, (28, 28), method="bilinear", antialias=True)
    return np.clip(np.round(resized.numpy()[..., 0]), 0, 255).astype(np.uint8)


class ComposeCanvasTest(tf.test.TestCase):

    def test_geometry_on_known_pair(self):
        left = np.full((28, 28), 100.0)
        right = np.full((28, 28), 200.0)
        right[0, 0] = 50.0  # lands at canvas (6, 6), inside the overlap
        canvas = multi_digit.compose_canvas(left, right)
        self.assertEqual(canvas.shape, (36, 36))
        expected = np.zeros((36, 36))
        expected[0:28, 0:28] = 100.0
        expected[6:34, 6:34] = 200.0
        expected[6, 6] = 100.0  # max(left=100, right=50)
        self.assertAllEqual(canvas, expected)

    def test_overlap_is_pixelwise_max(self):
        rs = np.random.RandomState(1)
        left = rs.uniform(0, 255, size=(3, 28, 28))
        right = rs.uniform(0, 255, size=(3, 28, 28))
        canvas = multi_digit.compose_canvas(left, right)
        self.assertAllClose(
            canvas[:, 6:28, 6:28], np.maximum(left[:, 6:28, 6:28], right[:, 0:22, 0:22])
        )
        self.assertAllClose(canvas[:, 0:6, 0:28], left[:, 0:6, :])
        self.assertAllClose(canvas[:, 28:34, 6:34], right[:, 22:28, :])
        self.assertAllEqual(canvas[:, 28:, 0:6], np.zeros((3, 8, 6)))
        self.assertAllEqual(canvas[:, 0:6, 28:], np.zeros((3, 6, 8)))
        self.assertAllEqual(canvas[:, 34:, :], np.zeros((3, 2, 36)))

    def test_shape_errors(self):
        with self.assertRaisesRegex(ValueError, "left.shape"):
            multi_digit.compose_canvas(np.zeros((27, 28)), np.zeros((27, 28)))
        with self.assertRaisesRegex(ValueError, "right.shape"):
            multi_digit.compose_canvas(np.zeros((28, 28)), np.zeros((2, 28, 28)))


class DropPixelsTest(tf.test.TestCase):

    def test_extremes(self):
        images = np.full((5, 28, 28), 7, np.uint8)
        rs = np.random.RandomState(0)
        self.assertAllEqual(multi_digit.drop_pixels(images, 0.0, rs), images)
        self.assertAllEqual(multi_digit.drop_pixels(images, 1.0, rs), np.zeros_like(images))

    def test_drop_frequency(self):
        images = np.ones((200, 28, 28))
        alpha = 0.3
        dropped = 1.0 - multi_digit.drop_pixels(images, alpha, np.random.RandomState(3))
        n = dropped.size
        tolerance = 5.0 * np.sqrt(alpha * (1 - alpha) / n)  # 5 sigma of a binomial
        self.assertAllClose(dropped.mean(), alpha, atol=tolerance)

    def test_bad_noise_ratio(self):
        with self.assertRaisesRegex(ValueError, "noise_ratio=1.5"):
            multi_digit.drop_pixels(np.zeros((28, 28)), 1.5, np.random.RandomState(0))


class MakeMultiDigitTest(tf.test.TestCase):

    def test_matches_overlay_of_partner(self):
        images, labels = _source()
        out, pair_labels, partners = multi_digit.make_multi_digit(images, labels, seed=5)
        self.assertEqual(out.shape, (40, 28, 28))
        self.assertEqual(out.dtype, np.uint8)
        self.assertAllEqual(pair_labels[:, 0], labels)
        self.assertAllEqual(pair_labels[:, 1], labels[partners])
        self.assertAllEqual(out, _expected_overlay(images, images[partners]))

    def test_alpha_one_zeroes_right_image(self):
        images, labels = _source()
        out, _, _ = multi_digit.make_multi_digit(images, labels, noise_ratio=1.0, seed=2)
        self.assertAllEqual(out, _expected_overlay(images, np.zeros_like(images)))

    def test_noise_changes_only_right_pixels(self):
        images = np.zeros((30, 28, 28), np.uint8)
        images[:15] = 255  # right partners are either all 0 or all 255
        labels = np.arange(30)
        clean, _, partners = multi_digit.make_multi_digit(images, labels, 0.0, seed=1)
        noisy, _, partners2 = multi_digit.make_multi_digit(images, labels, 0.5, seed=1)
        self.assertAllEqual(partners, partners2)
        # Noise can only remove intensity.
        self.assertTrue(np.all(noisy <= clean))
        # Examples whose left image is zero and whose right image is all 255:
        # every non-zero pixel there comes from the right image.
        bright = (np.arange(30) >= 15) & (partners < 15)
        self.assertGreater(bright.sum(), 0)
        # Mean intensity of an all-255 right image with half its pixels dropped.
        ratio = noisy[bright].astype(np.float64).sum() / clean[bright].astype(np.float64).sum()
        self.assertAllClose(ratio, 0.5, atol=0.05)

    def test_pairing_fixed_by_seed(self):
        images, labels = _source(num=200)
        _, _, p1 = multi_digit.make_multi_digit(images, labels, 0.0, seed=7)
        _, _, p2 = multi_digit.make_multi_digit(images, labels, 0.7, seed=7)
        _, _, p3 = multi_digit.make_multi_digit(images, labels, 0.0, seed=8)
        self.assertAllEqual(p1, p2)
        self.assertGreater(np.mean(p1 != p3), 0.9)
        n1, _, _ = multi_digit.make_multi_digit(images, labels, 0.4, seed=7)
        n2, _, _ = multi_digit.make_multi_digit(images, labels, 0.4, seed=7)
        self.assertAllEqual(n1, n2)

    def test_cache_round_trip(self):
        images, labels = _source()
        cache_dir = self.get_temp_dir()
        out, pair_labels, partners = multi_digit.make_multi_digit(
            images, labels, 0.2, seed=3, cache_dir=cache_dir, name="unit"
        )
        files = [f for f in os.listdir(cache_dir) if f.startswith("unit_")]
        self.assertLen(files, 1)
        self.assertIn("noise0.2000_seed3", files[0])
        path = os.path.join(cache_dir, files[0])
        # Overwrite the cached images: a second call must return the file content.
        np.savez(path, images=out + 1, labels=pair_labels, partners=partners)
        cached, _, _ = multi_digit.make_multi_digit(
            images, labels, 0.2, seed=3, cache_dir=cache_dir, name="unit"
        )
        self.assertAllEqual(cached, out + 1)

    def test_left_classes_restrict_only_the_left_image(self):
        images, labels = _source(num=400)
        out, pair_labels, partners = multi_digit.make_multi_digit(
            images, labels, 0.3, seed=4, left_classes=(1, 8))
        self.assertEqual(out.shape, (400, 28, 28))
        self.assertAllInSet(pair_labels[:, 0], [1, 8])
        self.assertAllEqual(pair_labels[:, 1], labels[partners])
        self.assertGreater(len(np.unique(pair_labels[:, 1])), 5)
        # Same pairing and noise as without the restriction.
        _, _, default_partners = multi_digit.make_multi_digit(images, labels, 0.3, seed=4)
        self.assertAllEqual(partners, default_partners)
        clean, _, _ = multi_digit.make_multi_digit(
            images, labels, 0.0, seed=4, left_classes=(1, 8))
        for i in range(5):  # each left image is a source image of class 1 or 8
            matches = [j for j in np.flatnonzero(np.isin(labels, (1, 8)))
                       if np.array_equal(
                           _expected_overlay(images[j], images[partners[i]]), clean[i])]
            self.assertNotEmpty(matches)
        with self.assertRaisesRegex(ValueError, r"left_classes=\[11\]"):
            multi_digit.make_multi_digit(images, labels, left_classes=(11,))

    def test_bad_inputs(self):
        images, labels = _source()
        with self.assertRaisesRegex(ValueError, "labels.shape"):
            multi_digit.make_multi_digit(images, labels[:3])
        with self.assertRaisesRegex(ValueError, "noise_ratio=-0.1"):
            multi_digit.make_multi_digit(images, labels, noise_ratio=-0.1)


class MultiDigitDatasetTest(tf.test.TestCase):

    def test_batches(self):
        images, labels = _source(num=10)
        out, pair_labels, _ = multi_digit.make_multi_digit(images, labels)
        ds = multi_digit.multi_digit_dataset(out, pair_labels, batch_size=4)
        batches = list(ds)
        self.assertLen(batches, 3)
        x, y = batches[0]
        self.assertEqual(x.shape, (4, 28, 28, 1))
        self.assertEqual(x.dtype, tf.float32)
        self.assertEqual(y.shape, (4, 2))
        self.assertAllClose(x[..., 0], out[:4] / 255.0)
        self.assertAllEqual(y, pair_labels[:4])
        normalized = multi_digit.multi_digit_dataset(
            out, pair_labels, batch_size=4, mean=0.5, stddev=0.25
        )
        self.assertAllClose(next(iter(normalized))[0], (x - 0.5) / 0.25)

    def test_shuffle_is_seeded(self):
        images, labels = _source(num=30)
        out, pair_labels, _ = multi_digit.make_multi_digit(images, labels)
        a = [y.numpy() for _, y in multi_digit.multi_digit_dataset(
            out, pair_labels, 8, shuffle=True, seed=1)]
        b = [y.numpy() for _, y in multi_digit.multi_digit_dataset(
            out, pair_labels, 8, shuffle=True, seed=1)]
        self.assertAllEqual(np.concatenate(a), np.concatenate(b))
        self.assertAllEqual(
            np.sort(np.concatenate(a)[:, 0]), np.sort(pair_labels[:, 0])
        )


    def test_epochs_are_shuffled_by_seed_and_epoch(self):
        # Epoch e's order depends on (seed, e) only: a stream started at
        # epoch 2 (a resumed run) repeats the last epoch of one started at 0.
        images, labels = _source(num=30)
        out, pair_labels, _ = multi_digit.make_multi_digit(images, labels)

        def labels_of(**kwargs):
            ds = multi_digit.multi_digit_dataset(out, pair_labels, 8, shuffle=True, seed=1,
                                                 **kwargs)
            return np.concatenate([y.numpy() for _, y in ds])

        three = labels_of(initial_epoch=0, epochs=3)
        self.assertLen(three, 90)
        self.assertAllEqual(labels_of(initial_epoch=2, epochs=3), three[60:])
        self.assertAllEqual(labels_of(), three[:30])
        self.assertNotAllEqual(three[:30], three[30:60])
        for epoch in range(3):
            self.assertAllEqual(np.sort(three[30 * epoch:30 * (epoch + 1), 0]),
                                np.sort(pair_labels[:, 0]))


if __name__ == "__main__":
    tf.test.main()
