"""`python -m trainers.mtl --gin_file ... --model_dir ...`: one run of the shared trainer."""

from trainers.core import cli
from trainers.core import training
from trainers.mtl import driver  # noqa: F401  (registers the family's configurables)

if __name__ == "__main__":
    cli.run(training.train)
