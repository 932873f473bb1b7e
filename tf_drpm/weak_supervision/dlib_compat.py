"""Imports disentanglement_lib's metric modules under TensorFlow 2 and gin 0.5.

disentanglement_lib 1.5 (2020, frozen) cannot import its evaluation metrics
(`disentanglement_lib.evaluation.metrics.{mig, dci, ...}`) as released with a
current stack, for two reasons that have nothing to do with the metrics, which
are plain NumPy / scikit-learn code:

* each module runs `import gin.tf`, whose `__init__` defines a
  `tf.estimator.SessionRunHook` subclass, and TF 2.16+ has no `tf.estimator`;
* each module decorates with `gin.configurable(..., blacklist=[...])`, a
  keyword gin-config renamed to `denylist` (and `whitelist` to `allowlist`).

`import_metric_modules` imports them anyway, without editing their files: for
the duration of the import only, it registers a stand-in `gin.tf` module when
the real one fails to import, and replaces `gin.configurable` by a wrapper that
renames the two keywords. Both are undone before it returns. What stays in the
process afterwards is what any import of the modules leaves: the modules in
`sys.modules` and their configurables (`mig`, `dci`, `discretizer`,
`histogram_discretizer`, `prune_dims`, ...) in gin's registry. If the real
`gin.tf` was tried and failed, its half-run `gin.tf.utils` also left its
`singleton_per_graph` configurable and a `tf.io.gfile` config-file reader
registered with gin (both unused here).

Nothing happens at `import tf_drpm`: this module imports gin only when a
function is called. It is the only module of the library that touches gin, and
only `tf_drpm.weak_supervision.disentanglement_lib_metrics` uses it.
"""

import contextlib
import importlib
import sys
import types

__all__ = ["METRIC_MODULES", "import_metric_modules", "parse_bindings"]

METRIC_MODULES = (
    "mig",
    "dci",
    "sap_score",
    "modularity_explicitness",
    "beta_vae",
    "factor_vae",
    "irs",
    "unsupervised_metrics",
)
_PACKAGE = "disentanglement_lib.evaluation.metrics"
_RENAMED_KEYWORDS = (("blacklist", "denylist"), ("whitelist", "allowlist"))


def import_metric_modules():
    """Imports disentanglement_lib's eight evaluation metric modules.

    Returns:
        A dict from the names of `METRIC_MODULES` (`"mig"`, `"dci"`, ...) to
        the imported modules of `disentanglement_lib.evaluation.metrics`.

    Raises:
        ImportError: if disentanglement-lib (or a module the metrics need,
            e.g. `six`) is not installed.

    Example:

    >>> modules = import_metric_modules()
    >>> parse_bindings(["mig.num_train = 1000", "discretizer.num_bins = 20",
    ...                 "discretizer.discretizer_fn = @histogram_discretizer"])
    >>> modules["mig"].compute_mig(DummyData(), representation_function,
    ...                            np.random.RandomState(0))
    {'discrete_mig': ...}
    """
    names = {name: f"{_PACKAGE}.{name}" for name in METRIC_MODULES}
    if not all(module in sys.modules for module in names.values()):
        import gin  # pylint: disable=g-import-not-at-top

        with _importable_gin_tf(gin), _legacy_configurable_keywords(gin):
            for module in names.values():
                importlib.import_module(module)
    return {name: sys.modules[module] for name, module in names.items()}


def parse_bindings(bindings):
    """Parses gin bindings of disentanglement_lib's configurables.

    The metrics read their sizes and their discretizer from gin
    (`mig.num_train = 10000`, `discretizer.num_bins = 20`,
    `discretizer.discretizer_fn = @histogram_discretizer`). Like
    disentanglement_lib's own `evaluate`, the bindings stay in gin's global
    config until `gin.clear_config()`, so a later `gin.operative_config_str()`
    records the values the metrics used.

    Args:
        bindings: gin binding strings, as in a disentanglement_lib `.gin` file.

    Example:

    >>> parse_bindings(["sap_score.num_train = 10000", "sap_score.num_test = 5000",
    ...                 "sap_score.continuous_factors = False"])
    """
    import gin  # pylint: disable=g-import-not-at-top

    import_metric_modules()  # the configurables must be registered first
    with gin.unlock_config():
        gin.parse_config(list(bindings))


@contextlib.contextmanager
def _importable_gin_tf(gin):
    """Makes `import gin.tf` succeed, with a stand-in if the real one fails."""
    if "gin.tf" in sys.modules:
        yield
        return
    try:
        importlib.import_module("gin.tf")
    except Exception:  # pylint: disable=broad-except
        # AttributeError (no tf.estimator), ImportError (no distutils on
        # Python 3.12+), or ValueError on a retry (already registered).
        pass
    else:
        yield
        return
    stand_in = types.ModuleType(
        "gin.tf", "Stand-in for gin.tf while disentanglement_lib's metrics import.")
    sys.modules["gin.tf"] = stand_in
    gin.tf = stand_in
    try:
        yield
    finally:
        if sys.modules.get("gin.tf") is stand_in:
            del sys.modules["gin.tf"]
        if getattr(gin, "tf", None) is stand_in:
            del gin.tf


@contextlib.contextmanager
def _legacy_configurable_keywords(gin):
    """Lets `gin.configurable` accept `blacklist` / `whitelist` meanwhile."""
    configurable = gin.configurable

    def legacy_configurable(*args, **kwargs):
        for old, new in _RENAMED_KEYWORDS:
            if old in kwargs:
                if new in kwargs:
                    raise ValueError(
                        f"Pass `{old}` or `{new}`, not both. Received: "
                        f"{old}={kwargs[old]!r}, {new}={kwargs[new]!r}")
                kwargs[new] = kwargs.pop(old)
        return configurable(*args, **kwargs)

    gin.configurable = legacy_configurable
    try:
        yield
    finally:
        gin.configurable = configurable
