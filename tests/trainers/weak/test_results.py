"""Tests of trainers/weak/results.py: the paper-analogue tables."""

import tensorflow as tf

from trainers.weak.results import format_paper_tables
from trainers.weak.results import summarize_runs


def _run(method, num_shared, seed, mse, estimate, shared_acc, independent_acc):
    results = {"num_shared_mse": mse, "mean_num_shared": estimate,
               "independent_accuracy": independent_acc}
    if shared_acc is not None:
        results["shared_accuracy"] = shared_acc
    return {"method": method, "num_shared_factors": num_shared, "seed": seed,
            "results": results}


class PaperTablesTest(tf.test.TestCase):

    def test_cells_are_means_and_spreads_over_seeds(self):
        runs = [
            _run("drpm", 0, 0, 0.0, 0.0, None, 0.9),
            _run("drpm", 0, 1, 0.5, 0.5, None, 0.7),
            _run("drpm", 3, 0, 1.0, 2.0, 0.4, 0.6),
            _run("drpm", 3, 1, 3.0, 4.0, 0.6, 0.8),
            _run("label", 3, 0, 36.0, 9.0, 0.9, 0.3),
        ]
        text = format_paper_tables(summarize_runs(runs))
        figure, accuracies = text.split("Table 2 analogue")
        self.assertIn("Seeds 0, 1", figure)
        self.assertIn("| method | n_s = 0 | n_s = 3 |", figure)
        # Label-VAE comes first (the table order) and has no n_s = 0 run.
        self.assertIn("| Label-VAE |  | 36.000 (9.000) |", figure)
        self.assertIn("| DRPM-VAE | 0.250 ± 0.250 (0.250 ± 0.250) | "
                      "2.000 ± 1.000 (3.000 ± 1.000) |", figure)
        self.assertLess(figure.index("Label-VAE"), figure.index("DRPM-VAE"))
        # No shared factor to predict at n_s = 0.
        self.assertIn("| DRPM-VAE | - / 0.800 ± 0.100 | 0.500 ± 0.100 / 0.700 ± 0.100 |",
                      accuracies)
        self.assertIn("| Label-VAE |  | 0.900 / 0.300 |", accuracies)


if __name__ == "__main__":
    tf.test.main()
