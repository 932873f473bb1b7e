"""Clustering metrics: accuracy under the best matching, NMI and ARI.

Inputs are integer label arrays of the same length; the predicted cluster
indices need not match the class indices (nor their number).
"""

import numpy as np
from scipy import optimize
from sklearn import metrics as sk_metrics

__all__ = [
    "adjusted_rand_index",
    "cluster_accuracy",
    "clustering_scores",
    "contingency_matrix",
    "normalized_mutual_info",
]


def _check_labels(labels_true, labels_pred):
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.ndim != 1 or labels_pred.ndim != 1:
        raise ValueError(
            "Labels must be 1-D. Received: labels_true.shape="
            f"{labels_true.shape}, labels_pred.shape={labels_pred.shape}")
    if labels_true.shape != labels_pred.shape:
        raise ValueError(
            "Labels must have the same length. Received: "
            f"len(labels_true)={labels_true.size}, len(labels_pred)={labels_pred.size}")
    if labels_true.size == 0:
        raise ValueError("Labels must be non-empty. Received: 0 labels")
    for name, labels in (("labels_true", labels_true), ("labels_pred", labels_pred)):
        if not np.issubdtype(labels.dtype, np.integer):
            if not np.all(np.equal(np.mod(labels, 1), 0)):
                raise ValueError(f"`{name}` must hold integers. Received: {labels[:5]}...")
    return labels_true.astype(np.int64), labels_pred.astype(np.int64)


def contingency_matrix(labels_true, labels_pred):
    """Counts `C[i, j]` of examples with the i-th true class and j-th cluster.

    Rows follow `np.unique(labels_true)`, columns `np.unique(labels_pred)`.
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    _, true_idx = np.unique(labels_true, return_inverse=True)
    _, pred_idx = np.unique(labels_pred, return_inverse=True)
    counts = np.zeros((true_idx.max() + 1, pred_idx.max() + 1), np.int64)
    np.add.at(counts, (true_idx, pred_idx), 1)
    return counts


def cluster_accuracy(labels_true, labels_pred):
    """Accuracy under the best one-to-one matching of clusters to classes.

    ACC = max over injective maps m from clusters to classes of
    (1/N) sum_i [labels_true_i == m(labels_pred_i)], found by the Hungarian
    algorithm (`scipy.optimize.linear_sum_assignment`) on the contingency
    matrix. With more clusters than classes, unmatched clusters count as
    errors.

    Args:
        labels_true: int array [N], the classes.
        labels_pred: int array [N], the cluster indices.

    Returns:
        accuracy: Python float in [0, 1].
    """
    counts = contingency_matrix(labels_true, labels_pred)
    rows, cols = optimize.linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())


def normalized_mutual_info(labels_true, labels_pred):
    """Normalised mutual information, NMI = I(Y; C) / mean(H(Y), H(C)) (arithmetic mean).

    Same as `sklearn.metrics.normalized_mutual_info_score` (its default
    arithmetic normalisation, the one used by VaDE and the DRPM paper).
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return float(sk_metrics.normalized_mutual_info_score(labels_true, labels_pred))


def adjusted_rand_index(labels_true, labels_pred):
    """Adjusted Rand index (Hubert and Arabie, 1985), `sklearn.metrics.adjusted_rand_score`."""
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return float(sk_metrics.adjusted_rand_score(labels_true, labels_pred))


def clustering_scores(labels_true, labels_pred):
    """Returns `{'acc': ..., 'nmi': ..., 'ari': ...}` for one clustering."""
    return {
        "acc": cluster_accuracy(labels_true, labels_pred),
        "nmi": normalized_mutual_info(labels_true, labels_pred),
        "ari": adjusted_rand_index(labels_true, labels_pred),
    }
