"""Kernel by kernel: where the time of one compiled DRPM step goes.

Runs pieces of `benchmarks/partition_profile.py` (by default the DRPM sample +
gradient and the NeuralSort sample + gradient, float32, XLA) under the
TensorFlow profiler with XLA's per-kernel trace events switched on
(`--xla_cpu_enable_xprof_traceme`), sums the events of every kernel of the
optimised HLO module over all threads and prints one JSON line per case and
piece:

* `kernel_us`: the summed kernel time per step (microseconds; kernels on the
  two cores may overlap, so it can exceed or fall short of the step's wall
  time), `launches`: kernels run per step (loop bodies count per iteration),
  `wall_us`: the step's median wall time in the same process (steps run back to
  back, each waited for);
* `parts`: the kernel time per step by the part of the step it belongs to (the
  name scope of the TensorFlow op the kernel was compiled from: the MVHG's
  tilted pmfs and FFTs, its conditionals, its Gumbel noise, the scores' noise,
  the sort and partition, the masks, the rest) with its number of launches;
* `top`: the `--top` most expensive kernels with their TensorFlow op.

Usage:
  python benchmarks/partition_kernels.py                       # 32:10:16 and 10:2:64
  python benchmarks/partition_kernels.py --cases 64:10:16 --top 30
"""

import argparse
import collections
import glob
import json
import os
import re
import statistics
import tempfile
import time

# Before TensorFlow is imported: XLA reads its flags once.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_enable_xprof_traceme=true").strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from partition_profile import _pieces  # noqa: E402

DEFAULT_CASES = "32:10:16,10:2:64"

# (part, pattern in the TensorFlow op name), first match wins.
_PARTS = (
    ("mvhg noise", r"mvhg_sequential_sample/sample_gumbel"),
    ("mvhg pmfs and FFTs", r"mvhg_tilted_log_pmfs|mvhg_log_tilt"),
    ("mvhg conditionals", r"MultivariateNoncentralHypergeometric|mvhg_"),
    ("scores noise", r"sample_gumbel"),
    ("masks", r"subset_masks"),
    ("sort and partition", r"sort_partition|neural_sort|pairwise_abs_rowsum|"
                           r"stable_sort_indices|RelaxedPlackettLuce"),
)


def _part(op_names):
    """The part of the step that the first matching pattern names (`other` if none)."""
    for part, pattern in _PARTS:
        if any(re.search(pattern, op_name) for op_name in op_names):
            return part
    return "other"


def _instructions(hlo_text):
    """`{instruction name: TensorFlow op names}` of every computation of the module.

    A fusion's names include those of the instructions it calls (XLA names a
    fusion after its root and wraps some ops without metadata), so a Gumbel
    draw fused into the add of the scores is found as noise.
    """
    own, calls, members = {}, {}, collections.defaultdict(list)
    computation = None
    for line in hlo_text.splitlines():
        header = re.match(r"(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
        if header and " = " not in line:
            computation = header.group(1)
            continue
        match = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = ", line)
        if match and computation is not None:
            name = match.group(1)
            op_name = re.search(r'op_name="([^"]*)"', line)
            # A reduction without metadata is named by its reducer, which XLA
            # names after the TensorFlow op ('/' as '_').
            reducer = re.search(r"to_apply=%?([\w.\-]+)", line)
            own.setdefault(name, op_name.group(1) if op_name else
                           reducer.group(1) if reducer else "")
            calls.setdefault(name, re.findall(r"calls=%?([\w.\-]+)", line))
            members[computation].append(name)

    def names(instruction, seen):
        result = [own[instruction]] if own[instruction] else []
        for called in calls[instruction]:
            if called not in seen:
                seen.add(called)
                for member in members[called]:
                    result += names(member, seen)
        return result

    return {name: names(name, set()) for name in own}


def _kernel_events(logdir, instructions):
    """`(name, microseconds)` of the profiled events that are kernels of the module."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    if not paths:
        raise RuntimeError(f"The profiler wrote no trace under {logdir}.")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name in instructions:
                    yield name, event.duration_ps / 1e6


def profile_piece(function, seed, steps):
    import tensorflow as tf

    for _ in range(10):
        result = function(seed)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    wall = []
    for _ in range(steps):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), function(seed))
        wall.append(time.perf_counter() - start)
    instructions = _instructions(
        function.experimental_get_compiler_ir(seed)(stage="optimized_hlo"))
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            result = function(seed)
        tf.nest.map_structure(lambda t: t.numpy(), result)
        tf.profiler.experimental.stop()
        events = list(_kernel_events(logdir, instructions))
    loops = {name for name in instructions if name.startswith("while")}
    time_us, launches = collections.Counter(), collections.Counter()
    for name, microseconds in events:
        if name not in loops:  # a loop's event holds its body's kernels
            time_us[name] += microseconds / steps
            launches[name] += 1 / steps
    parts = collections.defaultdict(lambda: {"kernel_us": 0., "launches": 0.})
    for name, microseconds in time_us.items():
        part = parts[_part(instructions[name])]
        part["kernel_us"] += microseconds
        part["launches"] += launches[name]
    return {
        "wall_us": round(1e6 * statistics.median(wall), 1),
        "kernel_us": round(sum(time_us.values()), 1),
        "launches": round(sum(launches.values()), 1),
        "parts": {part: {key: round(value, 1) for key, value in values.items()}
                  for part, values in sorted(parts.items(),
                                             key=lambda kv: -kv[1]["kernel_us"])},
        "top": [{"kernel": name, "us": round(microseconds, 1),
                 "launches": round(launches[name], 1),
                 "op": (instructions[name] or [""])[0]}
                for name, microseconds in time_us.most_common()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help="n:K:batch,...")
    parser.add_argument("--pieces", default="drpm,neuralsort")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    import tensorflow as tf

    seed = tf.constant([1, 2])
    for case in args.cases.split(","):
        n, num_subsets, batch = (int(x) for x in case.split(":"))
        pieces = _pieces(n, num_subsets, batch, tf.float32)
        for name in args.pieces.split(","):
            if name not in pieces:
                raise ValueError(f"Unknown piece. Received: --pieces={name}; known: "
                                 f"{sorted(pieces)}")
            result = profile_piece(tf.function(pieces[name], jit_compile=True), seed,
                                   args.steps)
            result["top"] = result["top"][:args.top]
            print(json.dumps({"case": case, "piece": name, **result}), flush=True)


if __name__ == "__main__":
    main()
