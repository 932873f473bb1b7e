"""`python -m trainers.vc --gin_file ... --model_dir ...`: runs `vc_experiment`."""

from trainers.core import cli
from trainers.vc import driver

if __name__ == "__main__":
    cli.run(driver.vc_experiment)
