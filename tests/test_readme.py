"""The README's quick start runs verbatim, and its set-up is `make demo` and `make test`.

The other code blocks, commands and links of the README and docs/: tests/test_docs.py.
"""

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

    def test_setup_is_the_two_make_commands(self):
        with open(os.path.join(_ROOT, "README.md")) as f:
            text = f.read()
        block = re.search(r"## Set up\n.*?```sh\n(.*?)```", text, re.S)
        self.assertIsNotNone(block, "README has no set-up block")
        commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
        self.assertEqual([c for c in commands if c], ["make demo", "make test"])
        with open(os.path.join(_ROOT, "Makefile")) as f:
            targets = re.findall(r"^([\w-]+):", f.read(), re.M)
        self.assertIn("demo", targets)
        self.assertIn("test", targets)


if __name__ == "__main__":
    tf.test.main()
