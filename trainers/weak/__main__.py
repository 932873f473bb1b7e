"""`python -m trainers.weak --gin_file ... --model_dir ...`: runs `weak_experiment`."""

from trainers.core import cli
from trainers.weak import driver

if __name__ == "__main__":
    cli.run(driver.weak_experiment)
