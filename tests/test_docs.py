"""The README and docs/ stay true: their code runs, their commands and links resolve.

- Every ```python block runs (all of them in one subprocess, each in its own
  namespace), unless an HTML comment `<!-- not-run: <reason> -->` right before it
  says why not. The README's quick start runs in tests/test_readme.py.
- Every `python -m trainers.<module>` names a module that exists, every
  `--gin_file gin/...` a file that exists, and every backticked repository path
  (`trainers/core/cli.py`, `tests/...py::Case`) a file that exists.
- Every relative link or image points to an existing file, and its `#anchor` to a
  heading of that file.
- The docs/ pages that comments and docstrings of the code name exist.
- `benchmarks/partition.py --write-docs` rewrites the table between the markers of
  docs/benchmarks.md and nothing else, and `benchmarks/partition_kernels.py` (the
  kernel table there) finds the kernels of a step and assigns them to its parts.
"""

import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NOT_RUN = re.compile(r"^<!-- not-run: (?P<reason>\S.*?) -->$")
_FENCE = re.compile(r"^```(?P<info>\S*)\s*$")
_PYTHON_INFOS = ("python", "py", "python3", "pycon", "ipython")
_MODULE = re.compile(r"python3?\s+-m\s+(?P<name>trainers(?:\.\w+)*)(?![\w.<])")
_GIN_FILE = re.compile(r"--gin_file[\s=]+['\"]?(?P<path>[^\s'\"`\\]+)")
_REPO_PATH = re.compile(
    r"`(?P<path>(?:tf_drpm|trainers|tests|benchmarks|gin|docs)/[\w./-]*\.(?:py|gin|md|png))"
    r"(?:::[\w.]+)?`")
_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")

# One subprocess runs the blocks: {"name": ..., "code": ...} from a JSON file; it
# reports the first failure by its name.
_RUNNER = """
import json, sys, traceback
blocks = json.load(open(sys.argv[1]))
for block in blocks:
    print(f"=== {block['name']}", flush=True)
    try:
        exec(compile(block["code"], block["name"], "exec"), {"__name__": "__main__"})
    except BaseException:
        traceback.print_exc()
        print(f"FAILED: {block['name']}", file=sys.stderr, flush=True)
        sys.exit(1)
print("ALL BLOCKS RAN", flush=True)
"""


def _doc_files():
    return [os.path.join(_ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(_ROOT, "docs", "*.md")))


def _relative(path):
    return os.path.relpath(path, _ROOT)


def _read(path):
    with open(path) as f:
        return f.read()


def _blocks(path):
    """(info, first line number, code, marker line before the fence or None) per block."""
    lines = _read(path).splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        before = lines[j].strip() if j >= 0 else None
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        blocks.append((fence.group("info").lower(), i + 1, "\n".join(lines[i + 1:end]) + "\n",
                       before))
        i = end + 1
    return blocks


def _outside_code(path):
    """The file's lines outside fenced code blocks."""
    inside, kept = False, []
    for line in _read(path).splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside:
            kept.append(line)
    return kept


def _anchor(heading):
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[`*_]{2,}|`", "", heading.strip().lstrip("#").strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path):
    return {_anchor(line) for line in _outside_code(path) if line.startswith("#")}


class DocsTest(tf.test.TestCase):

    def test_every_python_block_runs_or_says_why_not(self):
        runnable, problems = [], []
        for path in _doc_files():
            for info, line, code, before in _blocks(path):
                name = f"{_relative(path)}:{line}"
                if info in _PYTHON_INFOS[1:]:
                    problems.append(f"{name}: write ```python, not ```{info}")
                if info not in _PYTHON_INFOS:
                    if before and before.startswith("<!-- not-run"):
                        problems.append(f"{name}: a not-run comment before a non-Python block")
                    continue
                if before == "<!-- quickstart:start -->":
                    continue  # tests/test_readme.py runs it.
                if before and before.startswith("<!-- not-run"):
                    if not _NOT_RUN.match(before):
                        problems.append(f"{name}: write <!-- not-run: <reason> -->")
                    continue
                runnable.append({"name": name, "code": code})
        self.assertEqual(problems, [])
        self.assertNotEmpty(runnable)
        with tempfile.TemporaryDirectory() as work:
            blocks_file = os.path.join(work, "blocks.json")
            with open(blocks_file, "w") as f:
                json.dump(runnable, f)
            env = dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
            env.pop("TF_CONFIG", None)
            completed = subprocess.run(
                [sys.executable, "-c", _RUNNER, blocks_file], cwd=work, env=env,
                capture_output=True, text=True, timeout=300)
        self.assertEqual(completed.returncode, 0,
                         completed.stdout[-2000:] + completed.stderr[-4000:])
        self.assertIn("ALL BLOCKS RAN", completed.stdout)

    def test_every_not_run_comment_is_right_before_a_python_block(self):
        for path in _doc_files():
            lines = _read(path).splitlines()
            for i, line in enumerate(lines):
                if "not-run" not in line or not line.startswith("<!--"):
                    continue
                following = next((l for l in lines[i + 1:] if l.strip()), "")
                self.assertEqual(following.strip(), "```python",
                                 f"{_relative(path)}:{i + 1}: a not-run comment without "
                                 "a Python block after it")

    def test_trainer_modules_exist(self):
        names = set()
        for path in _doc_files():
            names.update(m.group("name") for m in _MODULE.finditer(_read(path)))
        self.assertIn("trainers.vc", names)
        missing = []
        sys.path.insert(0, _ROOT)
        try:
            for name in sorted(names):
                try:
                    spec = importlib.util.find_spec(name)
                except (ImportError, AttributeError, ValueError):
                    spec = None
                if spec is None:
                    missing.append(name)
        finally:
            sys.path.remove(_ROOT)
        self.assertEqual(missing, [], "python -m <module> names a module that does not exist")

    def test_gin_files_and_repository_paths_exist(self):
        missing, gin_files = [], 0
        for path in _doc_files():
            text = _read(path)
            for match in _GIN_FILE.finditer(text):
                target = match.group("path")
                if "<" in target:
                    continue  # a placeholder, e.g. gin/<family>/<cfg>.gin
                gin_files += 1
                if not target.startswith("gin/") or not os.path.isfile(
                        os.path.join(_ROOT, target)):
                    missing.append(f"{_relative(path)}: --gin_file {target}")
            for match in _REPO_PATH.finditer(text):
                target = match.group("path")
                if not os.path.isfile(os.path.join(_ROOT, target)):
                    missing.append(f"{_relative(path)}: {target}")
        self.assertGreater(gin_files, 0)
        self.assertEqual(missing, [])

    def test_relative_links_resolve(self):
        broken, links = [], 0
        for path in _doc_files():
            for line in _outside_code(path):
                for match in _LINK.finditer(line):
                    target = match.group("target")
                    if re.match(r"[a-z]+:", target):
                        continue  # http:, https:, mailto:
                    links += 1
                    file_part, _, anchor = target.partition("#")
                    resolved = (os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                                if file_part else path)
                    if file_part.endswith("/"):
                        if not os.path.isdir(resolved):
                            broken.append(f"{_relative(path)}: {target} (no such directory)")
                    elif not os.path.isfile(resolved):
                        broken.append(f"{_relative(path)}: {target} (no such file)")
                    elif anchor and resolved.endswith(".md") and anchor not in _anchors(resolved):
                        broken.append(f"{_relative(path)}: {target} (no such heading)")
        self.assertGreater(links, 0)
        self.assertEqual(broken, [])

    def test_docs_pages_named_in_the_code_exist(self):
        """Comments and docstrings that point a reader to a docs/ page name one that exists."""
        missing = []
        sources = [os.path.join(_ROOT, "Makefile")]
        for top in ("tf_drpm", "trainers", "gin", "benchmarks"):
            for ext in ("py", "gin"):
                sources += glob.glob(os.path.join(_ROOT, top, "**", f"*.{ext}"), recursive=True)
        for path in sorted(sources):
            for match in re.finditer(r"docs/[\w-]+\.md", _read(path)):
                if not os.path.isfile(os.path.join(_ROOT, match.group(0))):
                    missing.append(f"{_relative(path)}: {match.group(0)}")
        self.assertEqual(missing, [])

    def test_docs_index_lists_every_page(self):
        index = _read(os.path.join(_ROOT, "docs", "index.md"))
        for path in _doc_files()[1:]:
            name = os.path.basename(path)
            if name != "index.md":
                self.assertIn(f"]({name})", index, f"docs/index.md does not list {name}")

    def test_benchmark_writes_the_docs_table(self):
        spec = importlib.util.spec_from_file_location(
            "partition_benchmark", os.path.join(_ROOT, "benchmarks", "partition.py"))
        partition = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(partition)
        self.assertEqual(os.path.relpath(partition.DOCS_PATH, _ROOT),
                         os.path.join("docs", "benchmarks.md"))
        self.assertIn("benchmarks/partition.py --write-docs", _read(os.path.join(_ROOT, "Makefile")))
        results = [
            {"op": "drpm", "n": 32, "K": 10, "batch": 16, "dtype": "float32",
             "ms_per_step": 2.0, "partitions_per_s": 8000.0, "peak_rss_mb": 1000.0},
            {"op": "neuralsort", "n": 32, "K": None, "batch": 16, "dtype": "float32",
             "ms_per_step": 0.5, "partitions_per_s": 32000.0, "peak_rss_mb": 800.0},
        ]
        named = [
            {"op": "drpm", "n": 10, "K": 2, "batch": 64, "dtype": "float32", "case": "weak",
             "ms_per_step": 0.6, "partitions_per_s": 100000.0, "peak_rss_mb": 900.0,
             "compile_s": 2.5},
            {"op": "neuralsort", "n": 10, "K": None, "batch": 64, "dtype": "float32",
             "case": "weak", "ms_per_step": 0.5, "partitions_per_s": 128000.0,
             "peak_rss_mb": 800.0, "compile_s": 1.0},
        ]
        results[0]["compile_s"] = 3.0
        results = results + named
        with tempfile.TemporaryDirectory() as work:
            copy = os.path.join(work, "benchmarks.md")
            shutil.copy(partition.DOCS_PATH, copy)
            before = _read(copy)
            partition._write_docs(results, "python benchmarks/partition.py --write-docs",
                                  path=copy, date="2000-01-02")
            after = _read(copy)
        start, end = partition.DOCS_START, partition.DOCS_END
        self.assertEqual(before[:before.index(start)], after[:after.index(start)])
        self.assertEqual(before[before.index(end):], after[after.index(end):])
        written = after[after.index(start):after.index(end)]
        self.assertIn("Measured on 2000-01-02 with `python benchmarks/partition.py "
                      "--write-docs`", written)
        self.assertIn(f"on {partition._cpu_model()} (", written)
        self.assertIn("| 32 | 2 | 8000 | 1000 | 0.5 | 800 | 4.00 | 3 | - |", written)
        self.assertIn("| weak | 10 | 2 | 64 | 0.6 | 100000 | 0.5 | 1.20 | 2.5 | 1 |", written)
        self.assertNotIn("| 10 | 0.6", written)
        self.assertNotIn("| 4096 |", written)

    def test_kernel_profile_attributes_the_step(self):
        # The profiler's kernel events are found and assigned to parts of the step.
        output = subprocess.run(
            [sys.executable, os.path.join(_ROOT, "benchmarks", "partition_kernels.py"),
             "--cases", "6:3:2", "--steps", "5", "--top", "3"],
            capture_output=True, text=True, check=True, timeout=600).stdout
        rows = {row["piece"]: row for row in map(json.loads, output.splitlines())}
        self.assertEqual(set(rows), {"drpm", "neuralsort"})
        drpm, sort = rows["drpm"], rows["neuralsort"]
        for row in (drpm, sort):
            self.assertGreater(row["kernel_us"], 0.)
            self.assertAlmostEqual(sum(p["kernel_us"] for p in row["parts"].values()),
                                   row["kernel_us"], delta=0.5)
            self.assertLen(row["top"], 3)
        for part in ("mvhg pmfs and FFTs", "mvhg conditionals", "mvhg noise",
                     "scores noise", "sort and partition"):
            self.assertGreater(drpm["parts"][part]["kernel_us"], 0., part)
        self.assertNotIn("mvhg noise", sort["parts"])
        self.assertGreater(drpm["launches"], sort["launches"])


if __name__ == "__main__":
    tf.test.main()
