"""The multitask family: DRPM-MTL and uniform loss scaling (ULS).

    python -m trainers.mtl --gin_file gin/mtl/multi_fashion.gin --model_dir runs/mtl

`driver` holds the gin builders of the shared trainer (importing it registers
the family's configurables), `sweep` the noise sweep
(`python -m trainers.mtl.sweep`) and `allocation` the learnt sizes against
frozen splits (`python -m trainers.mtl.allocation`).
"""

__all__ = ["SMOKE_RUN"]

# The smoke run of `python -m trainers.core.distributed_step --family mtl`.
SMOKE_RUN = {
    "config": "gin/tests/mtl_smoke.gin",
    "method_binding": "mtl_model.method",
    "methods": ("drpm", "uls"),
    "bindings": (),
}
