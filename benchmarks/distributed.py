"""Benchmark: DRPM-VC train steps on one device, 2 mirrored CPUs and 2 worker processes.

Runs `trainers/vc/distributed_step.py` (a tiny DRPM-VC: 8 images of 16 pixels,
K = 3, L = 3, latent dim 2) under the three set-ups, each in its own
processes, and prints one JSON object:

  {"dtype", "num_elements", "setups": {name: {"num_replicas", "steps_per_second",
   "gathered_bytes_per_step", "partition_equal", "max_abs_loss_difference",
   "max_abs_weight_difference"}}, "paper_scale_gathered_bytes_per_step": {...}}

The differences are against the single device after `--steps` steps (same
initial weights, data and seeds); "partition_equal" says whether the first
step's partitions of the global batch are identical. Steps per second are
measured over `--timed_steps` further steps after tracing (CPU, small model:
the numbers show the collectives' overhead, not a speed-up).

`--model contrastive` runs the contrastive pretraining of the same
auto-encoder instead (global negatives: both views' head outputs are
all-gathered; no partitions).

Usage:
  python benchmarks/distributed.py                   # float64
  python benchmarks/distributed.py --dtype float32
  python benchmarks/distributed.py --model contrastive
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from trainers.vc import distributed_step  # noqa: E402


def _env():
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TF_CONFIG", None)
    return env


def _run(strategy, common, timeout):
    output = os.path.join(tempfile.mkdtemp(), "result.json")
    argv = ["--output", output, *common]
    if strategy == "multi_worker":
        distributed_step.run_workers(argv, num_workers=2, timeout=timeout, env=_env(),
                                     cwd=REPO_ROOT)
    else:
        extra = ["--num_cpus", "2"] if strategy == "mirrored" else []
        subprocess.run([sys.executable, "-m", "trainers.vc.distributed_step", "--strategy",
                        strategy, *argv, *extra], cwd=REPO_ROOT, env=_env(), check=True,
                       timeout=timeout, stdout=subprocess.DEVNULL)
    with open(output) as f:
        return json.load(f)


def _max_abs(result, reference, key):
    return max(float(np.max(np.abs(np.subtract(result[key][name], values))))
               for name, values in reference[key].items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--steps", type=int, default=3, help="Compared train steps.")
    parser.add_argument("--timed_steps", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds per set-up.")
    parser.add_argument("--model", choices=("drpm_vc", "contrastive"), default="drpm_vc")
    args = parser.parse_args()
    common = ["--dtype", args.dtype, "--steps", str(args.steps),
              "--timed_steps", str(args.timed_steps), "--model", args.model]
    results = {name: _run(name, common, args.timeout)
               for name in ("default", "mirrored", "multi_worker")}
    single = results["default"]
    setups = {}
    for name, result in results.items():
        setups[name] = {
            "num_replicas": result["num_replicas"],
            "steps_per_second": (None if result["steps_per_second"] is None
                                 else round(result["steps_per_second"], 2)),
            "gathered_bytes_per_step": result["gathered_bytes_per_step"],
            "partition_equal": result["partition"] == single["partition"],
            "max_abs_loss_difference": _max_abs(result, single, "losses"),
            "max_abs_weight_difference": _max_abs(result, single, "weights"),
        }
    paper = {f"{replicas}_replicas": distributed_step.gathered_bytes_per_step(
        256, 10, replicas, "mean_responsibilities", 4) for replicas in (2, 8)}
    print(json.dumps({
        "model": args.model,
        "dtype": args.dtype,
        "num_elements": single["num_elements"],
        "steps": args.steps,
        "setups": setups,
        "paper_scale_gathered_bytes_per_step": {
            "n": 256, "K": 10, "float32": True, **paper},
    }))


if __name__ == "__main__":
    main()
