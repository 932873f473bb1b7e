"""Benchmark: DRPM sample + gradient vs NeuralSort alone.

Prints one JSON line per case:
  {"op", "n", "K", "batch", "dtype", "ms_per_step", "partitions_per_s", "peak_rss_mb", ...}

Each case runs in its own subprocess so `peak_rss_mb` (the process's maximum
resident set size, TensorFlow runtime included) belongs to that case alone.

Usage:
  python benchmarks/partition.py                       # all cases
  python benchmarks/partition.py --sizes 32,256        # some sizes
  python benchmarks/partition.py --write-docs          # also rewrite the table in docs/benchmarks.md
"""

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

DOCS_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "docs", "benchmarks.md")
DOCS_START = "<!-- benchmark:partition:start -->"
DOCS_END = "<!-- benchmark:partition:end -->"
DEFAULT_SIZES = (32, 64, 128, 256, 512, 1024, 4096)


def _run_case(op, n, num_subsets, batch, dtype_name, min_seconds):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from tf_drpm.distributions import RelaxedDRPM
    from tf_drpm.distributions import RelaxedPlackettLuce

    dtype = tf.as_dtype(dtype_name)
    log_weights = tf.Variable(tf.random.stateless_normal([batch, num_subsets], [1, 2], dtype=dtype))
    log_scores = tf.Variable(tf.random.stateless_normal([batch, n], [3, 4], dtype=dtype))
    temperature = tf.constant(0.5, dtype)

    if op == "drpm":
        target = tf.random.stateless_normal([batch, num_subsets, n], [5, 6], dtype=dtype)

        @tf.function(jit_compile=True)
        def step(seed):
            with tf.GradientTape() as tape:
                y = RelaxedDRPM(log_weights, log_scores, temperature).sample(seed=seed)
                loss = tf.reduce_sum(y * target)
            return tape.gradient(loss, [log_weights, log_scores])
    elif op == "neuralsort":
        target = tf.random.stateless_normal([batch, n, n], [5, 6], dtype=dtype)

        @tf.function(jit_compile=True)
        def step(seed):
            with tf.GradientTape() as tape:
                p = RelaxedPlackettLuce(log_scores, temperature).sample(seed=seed)
                loss = tf.reduce_sum(p * target)
            return tape.gradient(loss, [log_scores])
    else:
        raise ValueError(f"Unknown op. Received: op={op}")

    compile_start = time.perf_counter()
    [g.numpy() for g in step(tf.constant([0, 0]))]
    compile_seconds = time.perf_counter() - compile_start
    steps, start = 0, time.perf_counter()
    while True:
        grads = step(tf.constant([steps + 1, 7]))
        [g.numpy() for g in grads]
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and steps >= 3:
            break
    seconds_per_step = elapsed / steps
    return {
        "op": op,
        "n": n,
        "K": num_subsets if op == "drpm" else None,
        "batch": batch,
        "dtype": dtype_name,
        "ms_per_step": round(1000 * seconds_per_step, 3),
        "partitions_per_s": round(batch / seconds_per_step, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": steps,
        "compile_s": round(compile_seconds, 2),
    }


def _table(results):
    by_key = {(r["op"], r["n"]): r for r in results}
    sizes = sorted({r["n"] for r in results})
    lines = [
        "| n | DRPM ms/step | DRPM partitions/s | DRPM peak RSS MB | NeuralSort ms/step "
        "| NeuralSort peak RSS MB | DRPM / NeuralSort time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        drpm, sort = by_key.get(("drpm", n)), by_key.get(("neuralsort", n))
        cell = lambda r, key: "-" if r is None else f"{r[key]:g}"
        ratio = "-" if drpm is None or sort is None else f"{drpm['ms_per_step'] / sort['ms_per_step']:.2f}"
        lines.append(
            f"| {n} | {cell(drpm, 'ms_per_step')} | {cell(drpm, 'partitions_per_s')} "
            f"| {cell(drpm, 'peak_rss_mb')} | {cell(sort, 'ms_per_step')} "
            f"| {cell(sort, 'peak_rss_mb')} | {ratio} |")
    return "\n".join(lines)


def _write_docs(results, command, path=DOCS_PATH, date=None):
    """Replaces the table between the benchmark markers of `path` (docs/benchmarks.md)."""
    with open(path) as f:
        text = f.read()
    if DOCS_START not in text or DOCS_END not in text:
        raise ValueError(f"{path} has no benchmark markers {DOCS_START} / {DOCS_END}")
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
    date = date or datetime.date.today().isoformat()
    import tensorflow as tf
    body = (f"{DOCS_START}\nMeasured on {date} with `{command}` on {machine}, "
            f"TensorFlow {tf.__version__}, "
            f"K = {results[0]['K'] or 10}, batch {results[0]['batch']}, {results[0]['dtype']}, "
            "XLA (`jit_compile=True`), sample + gradient per step; peak RSS includes the "
            "TensorFlow runtime (about 0.7 GB).\n\n" + _table(results) + f"\n{DOCS_END}")
    start, end = text.index(DOCS_START), text.index(DOCS_END) + len(DOCS_END)
    with open(path, "w") as f:
        f.write(text[:start] + body + text[end:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--num-subsets", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--ops", default="drpm,neuralsort")
    parser.add_argument("--min-seconds", type=float, default=3.0)
    parser.add_argument("--write-docs", action="store_true",
                        help="Rewrite the table between the markers of docs/benchmarks.md.")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.case:
        op, n = args.case.split(":")
        result = _run_case(op, int(n), args.num_subsets, args.batch, args.dtype, args.min_seconds)
        print(json.dumps(result), flush=True)
        return
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        for op in args.ops.split(","):
            command = [sys.executable, os.path.abspath(__file__), "--case", f"{op}:{n}",
                       "--num-subsets", str(args.num_subsets), "--batch", str(args.batch),
                       "--dtype", args.dtype, "--min-seconds", str(args.min_seconds)]
            completed = subprocess.run(command, capture_output=True, text=True)
            lines = [l for l in completed.stdout.splitlines() if l.startswith("{")]
            if completed.returncode != 0 or not lines:
                result = {"op": op, "n": n, "error": completed.stderr.strip().splitlines()[-1:]}
            else:
                result = json.loads(lines[-1])
            results.append(result)
            print(json.dumps(result), flush=True)
    if args.write_docs:
        ok = [r for r in results if "error" not in r]
        _write_docs(ok, "python " + " ".join(["benchmarks/partition.py"] + (argv or sys.argv[1:])))


if __name__ == "__main__":
    main()
