"""Trace and compile time, and compiled size, of one DRPM sample + gradient.

For one case `n:K:batch` (float32, XLA), two pieces of
`benchmarks/partition_profile.py` are traced and compiled in one process: the
whole `RelaxedDRPM` sample + gradient (`drpm`) and the relaxed MVHG counts +
gradient (`mvhg_counts`). Prints one JSON line: per piece the seconds to trace,
the seconds of the first call (XLA compile and one run) and the number of
instructions of the optimised HLO (as `partition_profile.py` counts them). To compare two checkouts, run it with `PYTHONPATH` set
to each in turn, alternately.

Usage:
  python benchmarks/compile_pieces.py 64:10:16
"""

import json
import sys
import time

from partition_profile import _hlo_instructions
from partition_profile import _pieces
import tensorflow as tf


def main(case):
    n, num_subsets, batch = (int(x) for x in case.split(":"))
    pieces = _pieces(n, num_subsets, batch, tf.float32)
    seed = tf.constant([1, 2])
    result = {"case": case}
    for name in ("drpm", "mvhg_counts"):
        fn = tf.function(pieces[name], jit_compile=True)
        start = time.perf_counter()
        fn.get_concrete_function(seed)
        traced = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), fn(seed))
        compiled = time.perf_counter()
        result[name] = {"trace_s": round(traced - start, 2),
                        "compile_s": round(compiled - traced, 2),
                        "hlo_instructions": _hlo_instructions(fn, seed)}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "64:10:16")
