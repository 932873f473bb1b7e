"""disentanglement_lib's metric modules import through `dlib_compat`, and only so."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import gin
import tensorflow as tf

from tf_drpm.weak_supervision import dlib_compat

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Run in a fresh interpreter: the import state of the test process is shared.
_SCRIPT = textwrap.dedent("""
    import sys
    import tf_drpm
    import tf_drpm.weak_supervision
    # No side effect at import: gin and the metric modules stay unimported.
    assert "gin" not in sys.modules, "import tf_drpm imported gin"
    assert not any(m.startswith("disentanglement_lib") for m in sys.modules)

    # As released, the metric modules do not import under TF 2 / gin 0.5.
    try:
        import disentanglement_lib.evaluation.metrics.mig  # noqa: F401
    except (AttributeError, ImportError, TypeError) as e:
        print("direct import failed:", type(e).__name__, e)
    else:
        raise SystemExit("direct import succeeded: is dlib_compat still needed?")

    import gin
    configurable = gin.configurable
    import numpy as np
    from disentanglement_lib.data.ground_truth import dummy_data
    from tf_drpm.weak_supervision import dlib_compat
    modules = dlib_compat.import_metric_modules()
    assert sorted(modules) == sorted(dlib_compat.METRIC_MODULES), sorted(modules)
    # The patches are undone.
    assert gin.configurable is configurable
    gin_tf = sys.modules.get("gin.tf")
    assert gin_tf is None or hasattr(gin_tf, "__file__"), "stand-in left"
    dlib_compat.parse_bindings([
        "mig.num_train = 200", "discretizer.num_bins = 20",
        "discretizer.discretizer_fn = @histogram_discretizer"])
    scores = modules["mig"].compute_mig(
        dummy_data.DummyData(), lambda x: x.reshape(len(x), -1)[:, :10],
        np.random.RandomState(0))
    print("discrete_mig", scores["discrete_mig"])
""")


def _has_disentanglement_lib():
    return importlib.util.find_spec("disentanglement_lib") is not None


class DlibCompatTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        if not _has_disentanglement_lib():
            self.skipTest("disentanglement-lib is not installed")

    def tearDown(self):
        gin.clear_config()
        super().tearDown()

    def test_metric_modules_import_only_through_the_compat(self):
        completed = subprocess.run(
            [sys.executable, "-c", _SCRIPT], cwd=_ROOT, capture_output=True,
            text=True, timeout=300,
            env=dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
        self.assertEqual(completed.returncode, 0,
                         completed.stdout + completed.stderr[-3000:])
        self.assertIn("direct import failed", completed.stdout)
        self.assertIn("discrete_mig", completed.stdout)

    def test_all_eight_modules_and_their_configurables(self):
        modules = dlib_compat.import_metric_modules()
        self.assertEqual(tuple(modules), dlib_compat.METRIC_MODULES)
        self.assertTrue(callable(modules["dci"].compute_dci))
        # Their configurables are registered under disentanglement_lib's names.
        dlib_compat.parse_bindings(["sap_score.num_train = 7",
                                    "factor_vae_score.batch_size = 3"])
        self.assertEqual(gin.query_parameter("sap_score.num_train"), 7)
        # The blacklists became denylists: data arguments are not bindable.
        with self.assertRaisesRegex(ValueError, "denylisted kwarg 'ground_truth_data'"):
            dlib_compat.parse_bindings(["mig.ground_truth_data = 1"])

    def test_gin_is_left_unpatched(self):
        dlib_compat.import_metric_modules()
        self.assertIs(gin.configurable, gin.config.configurable)
        with self.assertRaises(TypeError):
            gin.configurable("tf_drpm_compat_probe", blacklist=["x"])
        stand_in = sys.modules.get("gin.tf")
        # Only a real, importable gin.tf may remain (the stand-in is removed).
        self.assertTrue(stand_in is None or hasattr(stand_in, "__file__"))


if __name__ == "__main__":
    tf.test.main()
