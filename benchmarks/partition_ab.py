"""A/B: the DRPM and NeuralSort steps of two checkouts, timed in one process.

Times between processes on a shared 2-core machine move by 30% or more (see
docs/benchmarks.md); a change smaller than that can only be seen with both
versions in one process, their steps timed in interleaved slices. This script
copies the `tf_drpm` package of another checkout (`--old`) to a temporary
directory as `tf_drpm_old` (imports rewritten), builds the `drpm` and
`neuralsort` pieces of `benchmarks/partition_profile.py` (a DRPM sample + gradient
and a NeuralSort sample + gradient, float32, XLA) from both packages, times the four steps round
robin (`--rounds` rounds of `--slice-seconds` each) and prints one JSON line
per case: the median milliseconds, the median per-round ratio DRPM /
NeuralSort of each version, the median per-round ratio new DRPM / old DRPM
and the trace-and-compile seconds.

Usage:
  git worktree add /tmp/old <commit>
  python benchmarks/partition_ab.py --old /tmp/old --cases 10:2:64,50:2:256
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import sys
import tempfile
import time

from partition_profile import _pieces


def _copy_as_old(checkout, target):
    """Copies `checkout/tf_drpm` to `target/tf_drpm_old`, imports rewritten."""
    source = pathlib.Path(checkout) / "tf_drpm"
    if not source.is_dir():
        raise ValueError(f"No tf_drpm package in --old. Received: --old={checkout}")
    destination = pathlib.Path(target) / "tf_drpm_old"
    shutil.copytree(source, destination)
    for path in destination.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\btf_drpm\b", "tf_drpm_old", text))


def ab_case(n, num_subsets, batch, rounds, slice_seconds):
    import tensorflow as tf

    functions = {}
    for tag, package in (("old", "tf_drpm_old"), ("new", "tf_drpm")):
        pieces = _pieces(n, num_subsets, batch, tf.float32, package)
        for name in ("drpm", "neuralsort"):
            functions[f"{name}_{tag}"] = tf.function(pieces[name], jit_compile=True)
    compile_s = {}
    for name, function in functions.items():
        start = time.perf_counter()
        [g.numpy() for g in function(tf.constant([0, 0]))]
        compile_s[name] = round(time.perf_counter() - start, 2)
    samples = {name: [] for name in functions}
    for round_index in range(rounds):
        for name, function in functions.items():
            steps, start = 0, time.perf_counter()
            while True:
                result = function(tf.constant([round_index, steps]))
                steps += 1
                if time.perf_counter() - start >= slice_seconds and steps >= 3:
                    break
            [g.numpy() for g in result]
            samples[name].append(1000 * (time.perf_counter() - start) / steps)

    def median_ratio(a, b):
        return round(statistics.median(x / y for x, y in zip(samples[a], samples[b])), 3)

    return {
        "case": f"{n}:{num_subsets}:{batch}",
        "ms": {name: round(statistics.median(v), 3) for name, v in samples.items()},
        "drpm_over_neuralsort": {tag: median_ratio(f"drpm_{tag}", f"neuralsort_{tag}")
                                 for tag in ("old", "new")},
        "drpm_new_over_old": median_ratio("drpm_new", "drpm_old"),
        "compile_s": compile_s,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--old", required=True, help="path of the other checkout")
    parser.add_argument("--cases", default="10:2:64,50:2:256,64:10:16", help="n:K:batch,...")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--slice-seconds", type=float, default=0.1)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as directory:
        _copy_as_old(args.old, directory)
        sys.path.insert(0, directory)
        for case in args.cases.split(","):
            n, num_subsets, batch = (int(x) for x in case.split(":"))
            print(json.dumps(ab_case(n, num_subsets, batch, args.rounds, args.slice_seconds)),
                  flush=True)


if __name__ == "__main__":
    main()
