"""Tests of tf_drpm/weak_supervision/disentanglement_lib_metrics.py.

Our linear probes and disentanglement_lib's scores must agree in direction
on representations whose quality is known by construction: the ground-truth
factors plus small noise (disentangled), the same codes rotated (every factor
still linearly decodable, but spread over all dimensions) and pure noise.
"""

import importlib.util

import gin
import numpy as np
import tensorflow as tf

from tf_drpm.data.ground_truth_data import GroundTruthData
from tf_drpm.weak_supervision import disentanglement_lib_metrics as dlm
from tf_drpm.weak_supervision import weak_supervision_metrics as wsm

_FACTOR_SIZES = (4, 5, 6, 3)
_NUM_FACTORS = len(_FACTOR_SIZES)


class _FactorImages(GroundTruthData):
    """64x64x1 images whose first pixels hold the factor values."""

    @property
    def num_factors(self):
        return _NUM_FACTORS

    @property
    def factors_num_values(self):
        return list(_FACTOR_SIZES)

    @property
    def observation_shape(self):
        return [64, 64, 1]

    def sample_factors(self, num, random_state):
        return np.stack(
            [random_state.randint(v, size=num) for v in _FACTOR_SIZES], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        del random_state
        images = np.zeros([len(factors), 64, 64, 1], np.float32)
        images[:, 0, :_NUM_FACTORS, 0] = factors
        return images


class _ConstructedModel:
    """A WeakVAE-like model with codes of known quality, `kind`:

    * "disentangled": code j = factor j + N(0, 0.05^2);
    * "rotated": the disentangled codes times a random rotation;
    * "noise": N(0, 1) codes, independent of the images.

    Its view aggregation shares exactly the dims of the factors a pair shares,
    so our probes see the right partition of whatever the codes hold.
    """

    observation_shape = (64, 64, 1)

    def __init__(self, kind, seed=0):
        self.kind = kind
        self._random_state = np.random.RandomState(seed)
        self._rotation = np.linalg.qr(
            np.random.RandomState(100 + seed).normal(size=[_NUM_FACTORS] * 2))[0]

    def encode(self, x):
        assert x.shape[1:] == self.observation_shape, x.shape
        factors = x[:, 0, :_NUM_FACTORS, 0].astype(np.float64)
        noise = self._random_state.normal(size=factors.shape)
        if self.kind == "noise":
            return noise
        codes = factors + 0.05 * noise
        return codes @ self._rotation if self.kind == "rotated" else codes

    def __call__(self, inputs, training=False):
        x1, x2 = inputs["x1"], inputs["x2"]
        shared = (x1[:, 0, :_NUM_FACTORS, 0] == x2[:, 0, :_NUM_FACTORS, 0])
        shared = shared.astype(np.float32)
        return {"mean1": self.encode(x1), "shared_mask": shared,
                "num_shared": shared.sum(-1)}


def _scores(kind, metrics=dlm.DEFAULT_METRICS):
    """Our probes and disentanglement_lib's scores, flat: {"mig.discrete_mig": ..}."""
    model = _ConstructedModel(kind)
    ours = wsm.weak_supervision_scores(
        model, _FactorImages(), 2, np.random.RandomState(0), num_train=600,
        num_test=300)
    flat = {"shared_accuracy": ours["shared_accuracy"],
            "independent_accuracy": ours["independent_accuracy"]}
    dlib = dlm.disentanglement_lib_scores(
        _FactorImages(), dlm.encoder_representation(model), metrics,
        num_train=600, num_test=300)
    for metric, results in dlib.items():
        flat.update({f"{metric}.{key}": value for key, value in results.items()})
    return flat


class DisentanglementLibScoresTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if importlib.util.find_spec("disentanglement_lib") is None:
            raise cls.skipException("disentanglement-lib is not installed")

    def tearDown(self):
        gin.clear_config()
        super().tearDown()

    def test_probes_and_dlib_agree_in_direction(self):
        metrics = dlm.DEFAULT_METRICS + ("beta_vae_sklearn", "factor_vae_metric", "irs")
        disentangled = _scores("disentangled", metrics)
        rotated = _scores("rotated")
        noise = _scores("noise", metrics)
        # Near the top on the disentangled codes, near chance on noise.
        # (SAP's 1-D linear SVMs with C = 0.01 cannot separate every value of
        # a factor: its top is well below 1.)
        for key, top, low in (
                ("shared_accuracy", 0.95, 0.1), ("independent_accuracy", 0.95, 0.1),
                ("mig.discrete_mig", 0.9, 0.05), ("dci.disentanglement", 0.9, 0.05),
                ("dci.completeness", 0.9, 0.05),
                ("dci.informativeness_test", 0.95, 0.4),
                ("sap_score.SAP_score", 0.3, 0.05),
                ("modularity_explicitness.modularity_score", 0.95, 0.7),
                ("modularity_explicitness.explicitness_score_test", 0.95, 0.6),
                ("beta_vae_sklearn.eval_accuracy", 0.95, 0.4),
                ("factor_vae_metric.eval_accuracy", 0.95, 0.4),
                ("irs.IRS", 0.85, 0.4)):
            self.assertGreater(disentangled[key], top, key)
            self.assertLess(noise[key], low, key)
        # A rotation keeps the information (DCI informativeness, explicitness)
        # and loses the disentanglement; our probes, which see the dims the
        # model shares, fall with it.
        for key in ("dci.informativeness_test",
                    "modularity_explicitness.explicitness_score_test"):
            self.assertGreater(rotated[key], 0.9, key)
        for key in ("shared_accuracy", "independent_accuracy", "mig.discrete_mig",
                    "dci.disentanglement", "sap_score.SAP_score",
                    "modularity_explicitness.modularity_score"):
            self.assertLess(rotated[key], disentangled[key] - 0.1, key)
            self.assertGreater(rotated[key], noise[key], key)

    def test_result_format_and_bindings(self):
        scores = dlm.disentanglement_lib_scores(
            _FactorImages(), dlm.encoder_representation(_ConstructedModel("noise")),
            ("mig", "unsupervised"), random_seed=3, num_train=300)
        self.assertEqual(list(scores), ["mig", "unsupervised"])
        self.assertIsInstance(scores["mig"]["discrete_mig"], float)
        self.assertGreaterEqual(scores["mig"]["elapsed_time"], 0.0)
        self.assertTrue(np.isfinite(scores["unsupervised"]["mutual_info_score"]))
        # disentanglement_lib's settings, with our size, are gin's bindings.
        self.assertEqual(gin.query_parameter("mig.num_train"), 300)
        self.assertEqual(gin.query_parameter("discretizer.num_bins"), 20)
        self.assertEqual(gin.query_parameter("unsupervised_metrics.num_train"), 300)

    def test_default_sizes_are_disentanglement_libs(self):
        for name, metric in dlm.DISENTANGLEMENT_LIB_METRICS.items():
            self.assertIn(f"{metric.configurable}.num_train = 10000", metric.bindings,
                          name)

    def test_encoder_representation_reshapes(self):
        seen = []

        class _Model:
            observation_shape = (64, 64, 1)

            def encode(self, x):
                seen.append((x.shape, x.dtype))
                return tf.zeros([len(x), 3])

        codes = dlm.encoder_representation(_Model())(np.zeros([5, 64, 64]))
        self.assertEqual(seen, [((5, 64, 64, 1), np.float32)])
        self.assertIsInstance(codes, np.ndarray)
        self.assertEqual(codes.shape, (5, 3))
        with self.assertRaisesRegex(ValueError, "Received: observation_shape=None"):
            dlm.encoder_representation(object())

    def test_requirement_errors_predict_the_failure_and_the_smallest_size(self):
        # Too few test points to take every value of every factor (the issue:
        # 50 test points of mpi3d's 40-valued factors).
        data = _FactorImages()
        noise = np.random.RandomState(1)
        representation = lambda x: (np.asarray(x, np.float32).reshape(len(x), -1)[
            :, :_NUM_FACTORS] + noise.normal(size=(len(x), _NUM_FACTORS)))
        errors = dlm.metric_requirement_errors(
            data, ("modularity_explicitness", "mig"), random_seed=0, num_train=30,
            num_test=6)
        self.assertLen(errors, 1)
        self.assertRegex(errors[0], r"modularity_explicitness needs.*Received: "
                                    r"num_train=30, num_test=6; the smallest")
        with self.assertRaises(Exception):  # what disentanglement_lib does with them
            dlm.disentanglement_lib_scores(data, representation, ("modularity_explicitness",),
                                           num_train=30, num_test=6)
        smallest = int(errors[0].rsplit(" ", 1)[1].rstrip("."))
        self.assertEqual(dlm.metric_requirement_errors(
            data, ("modularity_explicitness",), num_train=30, num_test=smallest), [])
        dlm.disentanglement_lib_scores(data, representation, ("modularity_explicitness",),
                                       num_train=30, num_test=smallest)
        self.assertNotEqual(dlm.metric_requirement_errors(
            data, ("modularity_explicitness",), num_train=30, num_test=smallest - 1), [])
        # One training point: a single value per factor (MIG NaN, SVM / GBT raise).
        for metric in ("mig", "sap_score", "dci"):
            (error,) = dlm.metric_requirement_errors(data, (metric,), num_train=1,
                                                     num_test=50)
            self.assertRegex(error, rf"{metric} needs every factor to take at least 2 "
                                    r"values.*Received: num_train=1; the smallest")
        self.assertEqual(dlm.metric_requirement_errors(data, ("irs",), num_train=1), [])
        self.assertEqual(dlm.metric_requirement_errors(data), [])  # dlib's sizes

    def test_bad_arguments(self):
        data, representation = _FactorImages(), lambda x: x
        with self.assertRaisesRegex(ValueError, r"Received: metrics=\('mig', 'nope'\)"):
            dlm.disentanglement_lib_scores(data, representation, ("mig", "nope"))
        with self.assertRaisesRegex(ValueError, "Received: num_train=0"):
            dlm.disentanglement_lib_scores(data, representation, num_train=0)
        with self.assertRaisesRegex(ValueError, "Received: num_test=2.5"):
            dlm.disentanglement_lib_scores(data, representation, num_test=2.5)


if __name__ == "__main__":
    tf.test.main()
