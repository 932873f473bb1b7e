"""Gin-configured experiment drivers: the only code that imports gin, absl flags,
strategies and file I/O (the library `tf_drpm` imports none of them).

Layout:

    trainers/
        core/             shared by every family
            cli.py              absl entry point: --gin_file, --gin_param, --model_dir,
                                --verbose; a user's error is one `ERROR:` line
            errors.py           `CommandError`, `SettingError` (what the CLI prints)
            training.py         the gin-configurable `train` (build, restore, fit, write)
            strategy.py         tf.distribute strategies by name (`get_strategy`)
            checkpoints.py      per-epoch checkpoints, their commit point and restore
            run_directory.py    run-directory lock, config check, non-chief worker output
            run_files.py        JSON / text / figure writers, markdown tables
            scalar_summaries.py TensorBoard scalars
            gin_registry.py     Keras and tf_drpm classes made gin-configurable
            workers.py          a local multi-worker cluster (`run_workers`, free ports)
            distributed_step.py a family's smoke run under one strategy, recorded per
                                step (`python -m trainers.core.distributed_step`)
        toy.py            the toy family, a template (`python -m trainers.toy`)
        partition_demo.py sampled partitions (`python -m trainers.partition_demo`)
        vc/               variational clustering (`python -m trainers.vc`)
            driver.py           gin builders and `vc_experiment`
            pretraining.py      the cached auto-encoder pretraining
            results.py, plots.py   the four-method table, summary and pictures
            distributed_step.py DRPM-VC steps under one strategy
                                (`python -m trainers.vc.distributed_step`)
        weak/             weak supervision (`python -m trainers.weak`)
            driver.py           gin builders and `weak_experiment`
            dataset.py          the ground-truth data set (`weak_dataset`)
            evaluation.py       `weak_evaluate`, `weak_dlib_metrics`
            diagnostics.py      the shared-dimension diagnostics callback
            results.py          disentanglement_lib result files and the table
            plots.py            pictures (`python -m trainers.weak.plots <run dir>`)
        mtl/              multitask learning (`python -m trainers.mtl`)
            driver.py           gin builders of the shared trainer
            sweep.py            the noise sweep (`python -m trainers.mtl.sweep`)
            allocation.py       learnt sizes vs frozen splits
                                (`python -m trainers.mtl.allocation`)

Imports point one way: a family imports `trainers.core` and `tf_drpm`, never
another family; `trainers.core` imports no family (`distributed_step` finds a
family's smoke run by name, from the `SMOKE_RUN` of its package). Each
family's `__init__` is light (no TensorFlow); its `driver` module registers
the family's gin configurables when imported, once per process, by
`__main__.py` and by every module that needs them. There is no import cycle
(`tests/trainers/test_layout.py` checks both rules).
"""

__all__ = []
