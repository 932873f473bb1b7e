"""Tests of tf_drpm/clustering/clustering_metrics.py."""

import itertools

from absl.testing import parameterized
import numpy as np
from scipy import special
from sklearn import metrics as sk_metrics
import tensorflow as tf

from tf_drpm.clustering import clustering_metrics as cm


def brute_force_accuracy(labels_true, labels_pred):
    """Best accuracy over all injective cluster->class maps (enumeration)."""
    classes = np.unique(labels_true)
    clusters = np.unique(labels_pred)
    best = 0
    slots = list(classes) + [None] * max(0, len(clusters) - len(classes))
    for assignment in itertools.permutations(slots, len(clusters)):
        mapping = dict(zip(clusters, assignment))
        hits = sum(mapping[p] == t for t, p in zip(labels_true, labels_pred))
        best = max(best, hits)
    return best / len(labels_true)


def ari_from_pair_counts(labels_true, labels_pred):
    """ARI from its closed form (Hubert & Arabie) with binomial pair counts."""
    c = cm.contingency_matrix(labels_true, labels_pred)
    comb = lambda v: special.comb(v, 2)  # noqa: E731
    index = comb(c).sum()
    a, b, n = comb(c.sum(1)).sum(), comb(c.sum(0)).sum(), comb(c.sum())
    expected = a * b / n
    return (index - expected) / (0.5 * (a + b) - expected)


def nmi_from_entropies(labels_true, labels_pred):
    c = cm.contingency_matrix(labels_true, labels_pred).astype(float)
    p = c / c.sum()
    pt, pp = p.sum(1), p.sum(0)
    nz = p > 0
    mutual = np.sum(p[nz] * np.log(p[nz] / np.outer(pt, pp)[nz]))
    h = lambda q: -np.sum(q[q > 0] * np.log(q[q > 0]))  # noqa: E731
    return mutual / (0.5 * (h(pt) + h(pp)))


class ClusteringMetricsTest(tf.test.TestCase, parameterized.TestCase):

    def test_permuted_labels_are_perfect(self):
        labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
        permuted = np.array([3, 1, 0, 2])[labels] + 10  # renamed clusters
        self.assertEqual(cm.cluster_accuracy(labels, permuted), 1.0)
        self.assertAllClose(cm.normalized_mutual_info(labels, permuted), 1.0)
        self.assertAllClose(cm.adjusted_rand_index(labels, permuted), 1.0)

    def test_hand_computed_case(self):
        # Classes 0,0,0,1,1,1; clusters a,a,b,b,b,b -> best map a->0, b->1: 5/6.
        labels_true = np.array([0, 0, 0, 1, 1, 1])
        labels_pred = np.array([5, 5, 7, 7, 7, 7])
        self.assertAllClose(cm.cluster_accuracy(labels_true, labels_pred), 5 / 6)
        # Contingency [[2, 1], [0, 3]]: sum C(n_ij, 2) = 1 + 0 + 0 + 3 = 4;
        # rows C(3,2)*2 = 6, cols C(2,2) + C(4,2) = 7, C(6,2) = 15.
        # ARI = (4 - 6*7/15) / (0.5*(6+7) - 6*7/15) = 1.2 / 3.7.
        self.assertAllClose(cm.adjusted_rand_index(labels_true, labels_pred), 1.2 / 3.7)
        np.testing.assert_array_equal(cm.contingency_matrix(labels_true, labels_pred),
                                      [[2, 1], [0, 3]])

    def test_single_cluster(self):
        labels_true = np.array([0, 1, 2, 0, 1, 2])
        labels_pred = np.zeros(6, np.int64)
        self.assertAllClose(cm.cluster_accuracy(labels_true, labels_pred), 2 / 6)
        self.assertAllClose(cm.normalized_mutual_info(labels_true, labels_pred), 0.0)
        self.assertAllClose(cm.adjusted_rand_index(labels_true, labels_pred), 0.0)

    @parameterized.parameters((6, 3, 3, 0), (7, 3, 4, 1), (8, 4, 3, 2), (9, 4, 4, 3))
    def test_against_enumeration_and_sklearn(self, n, num_classes, num_clusters, seed):
        rng = np.random.RandomState(seed)
        for _ in range(5):
            labels_true = rng.randint(0, num_classes, size=n)
            labels_pred = rng.randint(0, num_clusters, size=n)
            self.assertAllClose(cm.cluster_accuracy(labels_true, labels_pred),
                                brute_force_accuracy(labels_true, labels_pred))
            self.assertAllClose(cm.normalized_mutual_info(labels_true, labels_pred),
                                sk_metrics.normalized_mutual_info_score(labels_true, labels_pred))
            self.assertAllClose(cm.adjusted_rand_index(labels_true, labels_pred),
                                sk_metrics.adjusted_rand_score(labels_true, labels_pred))
            if len(np.unique(labels_true)) > 1 and len(np.unique(labels_pred)) > 1:
                self.assertAllClose(cm.normalized_mutual_info(labels_true, labels_pred),
                                    nmi_from_entropies(labels_true, labels_pred))
                self.assertAllClose(cm.adjusted_rand_index(labels_true, labels_pred),
                                    ari_from_pair_counts(labels_true, labels_pred))

    def test_large_random_against_sklearn_confusion(self):
        # 10 classes, clusters = classes shifted by 3 with 30% of the labels
        # replaced by noise: the best matching is the shift.
        rng = np.random.RandomState(0)
        labels_true = rng.randint(0, 10, size=2000)
        noise = rng.rand(2000) < 0.3
        labels_pred = np.where(noise, rng.randint(0, 10, size=2000), (labels_true + 3) % 10)
        acc = cm.clustering_scores(labels_true, labels_pred)["acc"]
        expected = np.mean((labels_pred - 3) % 10 == labels_true)  # identity up to the shift
        self.assertAllClose(acc, expected)
        self.assertBetween(acc, 0.7, 0.8)

    def test_bad_inputs(self):
        with self.assertRaisesRegex(ValueError, "same length"):
            cm.cluster_accuracy([0, 1], [0])
        with self.assertRaisesRegex(ValueError, "1-D"):
            cm.normalized_mutual_info([[0, 1]], [[0, 1]])
        with self.assertRaisesRegex(ValueError, "must hold integers"):
            cm.adjusted_rand_index([0.5, 1.0], [0, 1])
        with self.assertRaisesRegex(ValueError, "non-empty"):
            cm.cluster_accuracy([], [])


if __name__ == "__main__":
    tf.test.main()
