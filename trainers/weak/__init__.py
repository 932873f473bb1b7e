"""The weakly supervised family: Label-, Ada-, HG- and DRPM-VAE on image pairs.

    python -m trainers.weak --gin_file gin/weak/quick.gin --model_dir runs/weak_quick

`driver` holds the gin builders and `weak_experiment` (importing it registers
the family's configurables), `dataset` the ground-truth data set, `evaluation`
the evaluation builders, `diagnostics` the shared-dimension callback,
`results` the result files and the table, `plots` the pictures
(`python -m trainers.weak.plots <run dir>` redraws them).
"""

__all__ = ["SMOKE_RUN"]

# The smoke run of `python -m trainers.core.distributed_step --family weak`.
SMOKE_RUN = {
    "config": "gin/tests/weak_smoke.gin",
    "method_binding": "weak_model.method",
    "methods": ("label", "adaptive", "hg", "drpm"),
    "bindings": ("weak_model.seed = 0", "weak_data.num_shared_factors = 3",
                 "train.seed = 0"),
}
