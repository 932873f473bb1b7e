"""Tests for tf_drpm.multitask.celeba on generated records shaped like TFDS's."""

import numpy as np
import tensorflow as tf

from tf_drpm.multitask import celeba

_LANDMARKS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
    "leftmouth_y rightmouth_x rightmouth_y"
).split()


def _records(num=6, seed=0):
    """Generated records with the TFDS `celeb_a` feature structure."""
    rs = np.random.RandomState(seed)
    images = rs.randint(0, 256, size=(num, 218, 178, 3)).astype(np.uint8)
    attributes = {
        name: rs.uniform(size=num) < 0.5 for name in celeba.CELEBA_ATTRIBUTES
    }
    features = {
        "image": images,
        "attributes": attributes,
        "landmarks": {k: rs.randint(0, 178, size=num).astype(np.int64) for k in _LANDMARKS},
        "identity": {"Identity_No": rs.randint(1, 10000, size=num).astype(np.int64)},
    }
    return tf.data.Dataset.from_tensor_slices(features), images, attributes


class CelebATest(tf.test.TestCase):

    def test_attribute_order(self):
        self.assertLen(celeba.CELEBA_ATTRIBUTES, 40)
        self.assertEqual(list(celeba.CELEBA_ATTRIBUTES), sorted(celeba.CELEBA_ATTRIBUTES))
        self.assertEqual(
            celeba.celeba_task_names(3),
            ["5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive"],
        )
        self.assertEqual(celeba.celeba_task_names(40)[-1], "Young")
        with self.assertRaisesRegex(ValueError, "num_tasks=41"):
            celeba.celeba_task_names(41)

    def test_pipeline_on_generated_records(self):
        dataset, images, attributes = _records()
        ds = celeba.celeba_pipeline(dataset, num_tasks=10, batch_size=4)
        batches = list(ds)
        self.assertLen(batches, 2)
        x, y = batches[0]
        self.assertEqual(x.shape, (4, 64, 64, 3))
        self.assertEqual(x.dtype, tf.float32)
        self.assertEqual(y.shape, (4, 10))
        self.assertEqual(y.dtype, tf.int32)
        names = celeba.celeba_task_names(10)
        expected_labels = np.stack([attributes[n][:4] for n in names], -1).astype(np.int32)
        self.assertAllEqual(y, expected_labels)
        expected_image = tf.image.resize(
            images[:4].astype(np.float32), (64, 64), antialias=True) / 255.0
        self.assertAllClose(x, expected_image, atol=1e-5)
        self.assertAllInRange(x, 0.0, 1.0)

    def test_reference_normalization(self):
        dataset, images, _ = _records(num=2)
        x, _ = next(iter(celeba.celeba_pipeline(
            dataset, num_tasks=2, batch_size=2, normalization="reference")))
        bgr = images[..., ::-1].astype(np.float32) - np.array(celeba.REFERENCE_BGR_MEAN)
        expected = tf.image.resize(bgr, (64, 64), antialias=True) / 255.0
        self.assertAllClose(x, expected, atol=1e-4)

    def test_uniform_image_resizes_to_constant(self):
        features = {
            "image": tf.fill([218, 178, 3], tf.constant(51, tf.uint8)),
            "attributes": {n: tf.constant(True) for n in celeba.CELEBA_ATTRIBUTES},
        }
        x, y = celeba.preprocess_celeba(features, celeba.celeba_task_names(5))
        self.assertAllClose(x, tf.fill([64, 64, 3], 0.2), atol=1e-5)
        self.assertAllEqual(y, [1, 1, 1, 1, 1])

    def test_errors(self):
        features = {"image": tf.zeros([8, 8, 3], tf.uint8), "attributes": {}}
        with self.assertRaisesRegex(ValueError, "Unknown CelebA attributes"):
            celeba.preprocess_celeba(features, ["Smiling"])
        with self.assertRaisesRegex(ValueError, "normalization='bgr'"):
            celeba.preprocess_celeba(features, [], normalization="bgr")

    def test_missing_tfds_data_raises(self):
        with self.assertRaisesRegex(FileNotFoundError, "celeb_a"):
            celeba.load_celeba("train", data_dir=self.get_temp_dir())


if __name__ == "__main__":
    tf.test.main()
