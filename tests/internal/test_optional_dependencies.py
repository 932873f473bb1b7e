"""The experiment subpackages name the extra that brings SciPy and scikit-learn."""

import subprocess
import sys

from absl.testing import parameterized
import tensorflow as tf

from tests import subprocess_result
from tf_drpm.internal import optional_dependencies

# Hides the named modules from the import system, then imports the package.
_SCRIPT = """
import sys
for name in {hidden!r}:
    sys.modules[name] = None
import tf_drpm
import tf_drpm.multitask
print("CORE-OK", flush=True)
import {package}
"""


class OptionalDependenciesTest(tf.test.TestCase, parameterized.TestCase):

    def test_present_modules_pass(self):
        optional_dependencies.require("tf_drpm.x", {"numpy": "numpy"})

    def test_missing_module_names_the_distribution_and_the_extra(self):
        with self.assertRaisesRegex(ImportError, r"tf_drpm\.x needs no-such-dist.*"
                                    r"pip install 'tf_drpm\[experiments\]'"):
            optional_dependencies.require(
                "tf_drpm.x", {"numpy": "numpy", "no_such_module_xyz": "no-such-dist"})

    @parameterized.parameters(
        ("tf_drpm.clustering", ("sklearn",), "scikit-learn"),
        ("tf_drpm.weak_supervision", ("sklearn",), "scikit-learn"),
        ("tf_drpm.clustering", ("scipy",), "scipy"),
    )
    def test_subpackage_without_its_dependency(self, package, hidden, distribution):
        proc = subprocess.run(
            [sys.executable, "-c", _SCRIPT.format(hidden=hidden, package=package)],
            cwd=subprocess_result.REPO_ROOT, env=subprocess_result.subprocess_env(),
            capture_output=True, text=True, timeout=300)
        # The core imports without SciPy / scikit-learn; the subpackage names both.
        self.assertIn("CORE-OK", proc.stdout, proc.stderr[-2000:])
        self.assertNotEqual(proc.returncode, 0)
        last = proc.stderr.strip().splitlines()[-1]
        self.assertIn(f"ImportError: {package} needs", last)
        self.assertIn(distribution, last)
        self.assertIn("pip install 'tf_drpm[experiments]'", last)


if __name__ == "__main__":
    tf.test.main()
