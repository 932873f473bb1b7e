"""A tiny synthetic image set for clustering smoke tests."""

import numpy as np

__all__ = ["bar_images"]


def bar_images(train_size=512, test_size=256, num_classes=10, seed=0):
    """Noise images in which class c is a bright bar at a class position.

    Returns:
      `(train_images, train_labels, test_images, test_labels)`: uint8 images
      `[N, 28, 28]` and int64 labels, drawn from one `RandomState(seed)`.
    """
    rng = np.random.RandomState(seed)

    def make(size):
        labels = rng.randint(num_classes, size=size)
        images = rng.uniform(0, 40, size=(size, 28, 28))
        for i, label in enumerate(labels):
            row = 2 + (label * 24) // max(num_classes, 1)
            images[i, row : row + 3, 4:24] = 255.0
        return images.astype(np.uint8), labels.astype(np.int64)

    return make(train_size) + make(test_size)
