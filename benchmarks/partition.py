"""Benchmark: DRPM sample + gradient vs NeuralSort alone.

Two kinds of cases: the size sweep (`--sizes`, K = `--num-subsets`, batch
`--batch`) and the named shapes of the experiment models (`--cases`):

  weak       n = 10, K = 2, batch 64   (the weak-supervision model's partition)
  multitask  n = 50, K = 2, batch 256  (the multitask model's partition)

Prints one JSON line per op and case:
  {"op", "n", "K", "batch", "dtype", "ms_per_step", "partitions_per_s", "peak_rss_mb",
   "steps", "compile_s", ...}
(`compile_s`: trace and compile of one sample + gradient), then one line per
case comparing the two:
  {"case", "n", "K", "batch", "drpm_over_neuralsort", "drpm_compile_s", "neuralsort_compile_s"}

Each op and case runs in its own subprocess so `peak_rss_mb` (the process's
maximum resident set size, TensorFlow runtime included) belongs to that case
alone.

Usage:
  python benchmarks/partition.py                       # all cases
  python benchmarks/partition.py --sizes 32,256        # some sizes (and the named cases)
  python benchmarks/partition.py --cases multitask     # some named cases ("" for none)
  python benchmarks/partition.py --write-docs          # also rewrite the tables in docs/benchmarks.md
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
# The partition shapes of the experiment models: name -> (n, K, batch).
NAMED_CASES = {
    "weak": (10, 2, 64),
    "multitask": (50, 2, 256),
}


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


def _cell(result, key):
    value = None if result is None else result.get(key)
    return "-" if value is None else f"{value:g}"


def _ratio(drpm, sort):
    if drpm is None or sort is None:
        return "-"
    return f"{drpm['ms_per_step'] / sort['ms_per_step']:.2f}"


def _table(results):
    """The size sweep: one row per n (results without a `case` name)."""
    by_key = {(r["op"], r["n"]): r for r in results if not r.get("case")}
    sizes = sorted({n for _, n in by_key})
    lines = [
        "| n | DRPM ms/step | DRPM partitions/s | DRPM peak RSS MB | NeuralSort ms/step "
        "| NeuralSort peak RSS MB | DRPM / NeuralSort time | DRPM compile s "
        "| NeuralSort compile s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        drpm, sort = by_key.get(("drpm", n)), by_key.get(("neuralsort", n))
        lines.append(
            f"| {n} | {_cell(drpm, 'ms_per_step')} | {_cell(drpm, 'partitions_per_s')} "
            f"| {_cell(drpm, 'peak_rss_mb')} | {_cell(sort, 'ms_per_step')} "
            f"| {_cell(sort, 'peak_rss_mb')} | {_ratio(drpm, sort)} "
            f"| {_cell(drpm, 'compile_s')} | {_cell(sort, 'compile_s')} |")
    return "\n".join(lines)


def _cases_table(results):
    """The named experiment shapes: one row per case (results with a `case` name)."""
    by_key = {(r["op"], r["case"]): r for r in results if r.get("case")}
    cases = [name for name in NAMED_CASES if any(case == name for _, case in by_key)]
    if not cases:
        return ""
    lines = [
        "| case | n | K | batch | DRPM ms/step | DRPM partitions/s | NeuralSort ms/step "
        "| DRPM / NeuralSort time | DRPM compile s | NeuralSort compile s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in cases:
        drpm, sort = by_key.get(("drpm", name)), by_key.get(("neuralsort", name))
        n, num_subsets, batch = NAMED_CASES[name]
        lines.append(
            f"| {name} | {n} | {num_subsets} | {batch} | {_cell(drpm, 'ms_per_step')} "
            f"| {_cell(drpm, 'partitions_per_s')} | {_cell(sort, 'ms_per_step')} "
            f"| {_ratio(drpm, sort)} | {_cell(drpm, 'compile_s')} | {_cell(sort, 'compile_s')} |")
    return "\n".join(lines)


def _cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name (digits differ between CPU types), or `platform.processor()`."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _write_docs(results, command, path=DOCS_PATH, date=None):
    """Replaces the table between the benchmark markers of `path` (docs/benchmarks.md)."""
    with open(path) as f:
        text = f.read()
    if DOCS_START not in text or DOCS_END not in text:
        raise ValueError(f"{path} has no benchmark markers {DOCS_START} / {DOCS_END}")
    machine = (f"{_cpu_model()} ({platform.machine()}), {os.cpu_count()} CPU cores, "
               f"Python {platform.python_version()}")
    date = date or datetime.date.today().isoformat()
    import tensorflow as tf
    sweep = [r for r in results if not r.get("case")]
    first = (sweep or results)[0]
    body = (f"{DOCS_START}\nMeasured on {date} with `{command}` on {machine}, "
            f"TensorFlow {tf.__version__}, {first['dtype']}, XLA (`jit_compile=True`), "
            "sample + gradient per step; compile s is the trace and compile of one step; "
            "peak RSS includes the TensorFlow runtime (about 0.7 GB).")
    if sweep:
        body += (f"\n\nBy n, K = {first['K'] or 10}, batch {first['batch']}:\n\n"
                 + _table(sweep))
    cases = _cases_table(results)
    if cases:
        body += "\n\nThe partition shapes of the experiment models:\n\n" + cases
    body += f"\n{DOCS_END}"
    start, end = text.index(DOCS_START), text.index(DOCS_END) + len(DOCS_END)
    with open(path, "w") as f:
        f.write(text[:start] + body + text[end:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="n of the sweep, comma-separated (\"\" for none).")
    parser.add_argument("--cases", default=",".join(NAMED_CASES),
                        help="Named cases, comma-separated (\"\" for none): "
                             + ", ".join(f"{k} (n, K, batch = {v})" for k, v in NAMED_CASES.items()))
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
    cases = [(None, int(n), args.num_subsets, args.batch) for n in args.sizes.split(",") if n]
    for name in [c for c in args.cases.split(",") if c]:
        if name not in NAMED_CASES:
            parser.error(f"Unknown case {name!r}; known: {', '.join(NAMED_CASES)}")
        cases.append((name, *NAMED_CASES[name]))
    results = []
    for name, n, num_subsets, batch in cases:
        by_op = {}
        for op in args.ops.split(","):
            command = [sys.executable, os.path.abspath(__file__), "--case", f"{op}:{n}",
                       "--num-subsets", str(num_subsets), "--batch", str(batch),
                       "--dtype", args.dtype, "--min-seconds", str(args.min_seconds)]
            completed = subprocess.run(command, capture_output=True, text=True)
            lines = [l for l in completed.stdout.splitlines() if l.startswith("{")]
            if completed.returncode != 0 or not lines:
                result = {"op": op, "n": n, "error": completed.stderr.strip().splitlines()[-1:]}
            else:
                result = json.loads(lines[-1])
            if name:
                result["case"] = name
            results.append(result)
            by_op[op] = result
            print(json.dumps(result), flush=True)
        drpm, sort = by_op.get("drpm"), by_op.get("neuralsort")
        if drpm and sort and "error" not in drpm and "error" not in sort:
            print(json.dumps({
                "case": name or f"n={n}", "n": n, "K": num_subsets, "batch": batch,
                "drpm_over_neuralsort": round(drpm["ms_per_step"] / sort["ms_per_step"], 2),
                "drpm_compile_s": drpm["compile_s"], "neuralsort_compile_s": sort["compile_s"],
            }), flush=True)
    if args.write_docs:
        ok = [r for r in results if "error" not in r]
        _write_docs(ok, "python " + " ".join(["benchmarks/partition.py"] + (argv or sys.argv[1:])))


if __name__ == "__main__":
    main()
