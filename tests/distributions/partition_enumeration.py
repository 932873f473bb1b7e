"""Brute-force enumeration of DRPM partitions: the oracle of the DRPM tests."""

import itertools
import math

import numpy as np

__all__ = ["check_frequencies", "exact_partition_probs", "partition_matrix"]


def _compositions(total, parts):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


def exact_partition_probs(log_weights, log_scores):
    """All partitions Y with their exact probabilities, by enumeration.

    p(Y) = p(n) * sum over orderings pi compatible with Y of PL(pi), where
    p(n) is Fisher's MVHG with K groups of n items (enumerated compositions).
    Returns a dict {assignment tuple (subset of each element): probability}.
    """
    num_subsets, num_elements = len(log_weights), len(log_scores)
    weights = np.exp(np.asarray(log_weights, np.float64))
    scores = np.exp(np.asarray(log_scores, np.float64))
    unnormalised = {}
    for counts in _compositions(num_elements, num_subsets):
        unnormalised[counts] = np.prod(
            [math.comb(num_elements, c) * weights[k] ** c for k, c in enumerate(counts)])
    total = sum(unnormalised.values())
    result = {}
    for order in itertools.permutations(range(num_elements)):
        ordered = scores[list(order)]
        # Suffix sums, not running subtraction (which cancels for extreme scores).
        pl = np.prod(ordered / np.cumsum(ordered[::-1])[::-1])
        for counts, weight in unnormalised.items():
            assignment = [0] * num_elements
            position = 0
            for k, c in enumerate(counts):
                for element in order[position:position + c]:
                    assignment[element] = k
                position += c
            key = tuple(assignment)
            result[key] = result.get(key, 0.0) + weight / total * pl
    return result


def partition_matrix(assignment, num_subsets):
    """The `[K, n]` partition matrix of an assignment (subset of each element)."""
    y = np.zeros((num_subsets, len(assignment)))
    y[list(assignment), np.arange(len(assignment))] = 1.0
    return y


def check_frequencies(test, partitions, probabilities, msg=""):
    """Every cell's count within 5 binomial standard deviations (plus 1).

    Args:
        test: the `tf.test.TestCase`.
        partitions: hard partitions `[S, K, n]` (numpy).
        probabilities: `{assignment tuple: p}` over the whole support.
        msg: prefix of failure messages.
    """
    num_samples = len(partitions)
    counts = {}
    for a in map(tuple, np.argmax(partitions, axis=-2)):
        counts[a] = counts.get(a, 0) + 1
    test.assertLessEqual(set(counts), set(probabilities), msg=msg)
    for key, p in probabilities.items():
        sigma = math.sqrt(num_samples * p * (1 - p))
        test.assertLessEqual(abs(counts.get(key, 0) - num_samples * p), 5 * sigma + 1,
                             msg=f"{msg} {key}")
