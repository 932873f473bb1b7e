"""The variational clustering family: DRPM-VC, VaDE and the GMM baselines.

    python -m trainers.vc --gin_file gin/vc/fmnist_quick.gin --model_dir runs/vc_quick

`driver` holds the gin builders and `vc_experiment` (importing it registers
the family's configurables), `pretraining` the cached auto-encoder
pretraining, `results` and `plots` the result files, and `distributed_step`
the DRPM-VC steps compared across `tf.distribute` set-ups
(`python -m trainers.vc.distributed_step`).
"""

__all__ = []
