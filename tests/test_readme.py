"""The README's quick-start snippet runs verbatim."""

import os
import re
import subprocess
import sys

import tensorflow as tf

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ReadmeTest(tf.test.TestCase):

    def test_quickstart_snippet_runs(self):
        with open(os.path.join(_ROOT, "README.md")) as f:
            text = f.read()
        block = re.search(r"<!-- quickstart:start -->\s*```python\n(.*?)```", text, re.S)
        self.assertIsNotNone(block, "README has no quick-start block")
        completed = subprocess.run([sys.executable, "-c", block.group(1)], cwd=_ROOT,
                                   capture_output=True, text=True, timeout=300)
        self.assertEqual(completed.returncode, 0, completed.stderr[-3000:])
        self.assertIn("TensorShape([2, 3])", completed.stdout)

    def test_readme_names_the_two_setup_commands(self):
        with open(os.path.join(_ROOT, "README.md")) as f:
            text = f.read()
        self.assertIn("make demo", text)
        self.assertIn("make test", text)


if __name__ == "__main__":
    tf.test.main()
