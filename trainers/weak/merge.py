"""Merges finished weak sweeps into one summary.

    python -m trainers.weak.merge --output_dir runs/weak_truth_all \
        runs/weak_truth runs/weak_truth_seed2

writes `results.json`, `results.md` (the per-metric table, the Figure 3 and
Table 2 analogues) and `shared_factor_estimates.png` over every run of the
named sweeps, as one `python -m trainers.weak` sweep over all of them would.
"""

from absl import app
from absl import flags

from trainers.weak import driver

__all__ = []

_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Directory of the merged summary.")


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("Name at least one sweep directory.")
    summary = driver.merge_sweeps(argv[1:], _OUTPUT_DIR.value)
    print(summary["table"], flush=True)


if __name__ == "__main__":
    flags.mark_flag_as_required("output_dir")
    app.run(main)
