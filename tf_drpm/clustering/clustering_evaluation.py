"""Keras callback adding test-set clustering scores to the epoch logs."""

import keras
import numpy as np

from tf_drpm.clustering.clustering_metrics import clustering_scores

__all__ = ["ClusteringEvaluation", "evaluate_clustering"]


def evaluate_clustering(model, images, labels, batch_size=2000):
    """ACC / NMI / ARI of `model.predict_clusters` on `images` (in batches)."""
    predictions = np.concatenate(
        [
            model.predict_clusters(images[i : i + batch_size]).numpy()
            for i in range(0, len(images), batch_size)
        ]
    )
    return clustering_scores(labels, predictions)


class ClusteringEvaluation(keras.callbacks.Callback):
    """Adds `test_acc`, `test_nmi`, `test_ari` of `images` to the epoch logs.

    Evaluated every `every_epochs` epochs (0 disables it) with the model's
    deterministic `predict_clusters`, so it does not change the training; the
    values land in the trainer's epoch log and TensorBoard scalars.
    """

    def __init__(self, images, labels, every_epochs=1):
        super().__init__()
        self.images = images
        self.labels = labels
        self.every_epochs = int(every_epochs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.every_epochs <= 0 or (epoch + 1) % self.every_epochs:
            return
        scores = evaluate_clustering(self.model, self.images, self.labels)
        logs.update({f"test_{name}": float(value) for name, value in scores.items()})
