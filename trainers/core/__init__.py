"""What every family shares: the command line, the trainer and its run directory.

`cli` (absl flags, gin parsing), `training` (the gin-configurable `train`),
`strategy` (`tf.distribute` strategies by name), `checkpoints` (per-epoch
commit and restore), `run_directory` (locks, config check, worker output),
`run_files` (JSON, text and figure writers), `scalar_summaries`
(TensorBoard), `gin_registry` (Keras and tf_drpm classes made configurable),
`workers` (a local multi-worker cluster) and `distributed_step` (a family's
smoke run under one strategy, recorded per step). Nothing here imports a
family package.
"""

__all__ = []
