"""disentanglement_lib's own metrics (MIG, DCI, SAP, ...) of a representation.

The scores papers on disentanglement report are those of disentanglement_lib
(Locatello et al., 2019), computed by its code. `disentanglement_lib_scores`
calls that code, unchanged, on any representation function of the
observations of any `GroundTruthData` object, with disentanglement_lib's own
settings: the gin bindings of its `config/unsupervised_study_v1/
metric_configs/<metric>.gin` files (`config/sample/irs/irs.gin` for IRS) and,
as its `evaluate` does, a fresh `np.random.RandomState(random_seed)` per
metric (`evaluation.random_seed = 0` there). Its metric modules are imported
through `tf_drpm.weak_supervision.dlib_compat` (they do not import as released under
TF 2); disentanglement-lib must be installed (`pip install --no-deps
disentanglement-lib`, as `make test` does, plus `six`).

`encoder_representation` turns a trained encoder (`model.encode`, e.g. the
posterior means of a `tf_drpm.weak_supervision.WeakVAE`) into such a function.
"""

import collections
import time

import numpy as np

from tf_drpm.weak_supervision import dlib_compat

__all__ = [
    "DEFAULT_METRICS",
    "DISENTANGLEMENT_LIB_METRICS",
    "disentanglement_lib_scores",
    "encoder_representation",
    "metric_requirement_errors",
]

_Metric = collections.namedtuple(
    "_Metric", ["module", "function", "configurable", "bindings", "test_parameter"])

_DISCRETIZER = ("discretizer.discretizer_fn = @histogram_discretizer",
                "discretizer.num_bins = 20")

# Metric name (disentanglement_lib's metric config file and results directory
# name) -> its module, function, gin configurable, disentanglement_lib's
# bindings and the name of its test-size parameter.
DISENTANGLEMENT_LIB_METRICS = {
    "mig": _Metric("mig", "compute_mig", "mig",
                   ("mig.num_train = 10000",) + _DISCRETIZER, None),
    "dci": _Metric("dci", "compute_dci", "dci",
                   ("dci.num_train = 10000", "dci.num_test = 5000"), "num_test"),
    "sap_score": _Metric(
        "sap_score", "compute_sap", "sap_score",
        ("sap_score.num_train = 10000", "sap_score.num_test = 5000",
         "sap_score.continuous_factors = False"), "num_test"),
    "modularity_explicitness": _Metric(
        "modularity_explicitness", "compute_modularity_explicitness",
        "modularity_explicitness",
        ("modularity_explicitness.num_train = 10000",
         "modularity_explicitness.num_test = 5000") + _DISCRETIZER, "num_test"),
    "beta_vae_sklearn": _Metric(
        "beta_vae", "compute_beta_vae_sklearn", "beta_vae_sklearn",
        ("beta_vae_sklearn.batch_size = 64", "beta_vae_sklearn.num_train = 10000",
         "beta_vae_sklearn.num_eval = 5000"), "num_eval"),
    "factor_vae_metric": _Metric(
        "factor_vae", "compute_factor_vae", "factor_vae_score",
        ("factor_vae_score.num_variance_estimate = 10000",
         "factor_vae_score.num_train = 10000", "factor_vae_score.num_eval = 5000",
         "factor_vae_score.batch_size = 64", "prune_dims.threshold = 0.05"),
        "num_eval"),
    "irs": _Metric("irs", "compute_irs", "irs",
                   ("irs.num_train = 10000", "irs.batch_size = 16") + _DISCRETIZER,
                   None),
    "unsupervised": _Metric(
        "unsupervised_metrics", "unsupervised_metrics", "unsupervised_metrics",
        ("unsupervised_metrics.num_train = 10000",) + _DISCRETIZER, None),
}
DEFAULT_METRICS = ("mig", "dci", "sap_score", "modularity_explicitness")
# disentanglement_lib's defaults (its metric configs) of the sizes the
# `num_train` / `num_test` overrides replace, and its sampling batch size.
_DEFAULT_NUM_TRAIN = 10000
_DEFAULT_NUM_TEST = 5000
_FACTOR_BATCH_SIZE = 16
# Metrics fitting one classifier per factor on their training points: each
# factor needs two distinct values there (MIG divides by the factor's entropy,
# NaN at 0; SAP's LinearSVC, DCI's gradient boosting and explicitness's
# logistic regression raise on a single class).
_NEEDS_TWO_VALUES_PER_FACTOR = ("mig", "sap_score", "dci", "modularity_explicitness")
# Metrics with a variance or covariance of their `num_train` points (ddof=1).
_NEEDS_TWO_POINTS = ("factor_vae_metric", "unsupervised", "beta_vae_sklearn")


def encoder_representation(model, observation_shape=None):
    """The representation function `observations -> model.encode(observations)`.

    disentanglement_lib calls representation functions on batches of
    observations as its data sets return them (e.g. `[16, 64, 64]` or
    `[16, 64, 64, 1]`); this one reshapes them to the encoder's input shape
    and returns NumPy codes.

    Args:
        model: an object with `encode(x) -> [batch, d]`, e.g. a
            `tf_drpm.weak_supervision.WeakVAE` (its posterior means).
        observation_shape: the encoder's input shape without the batch, e.g.
            `(64, 64, 3)`. Defaults to `model.observation_shape`.

    Returns:
        A function from an array `[batch, ...]` to a float array `[batch, d]`.

    Raises:
        ValueError: if no observation shape is given or known.

    Example:

    >>> representation = encoder_representation(model)  # a WeakVAE on 64x64x1
    >>> representation(np.zeros([16, 64, 64])).shape
    (16, 10)
    """
    if observation_shape is None:
        observation_shape = getattr(model, "observation_shape", None)
    if observation_shape is None:
        raise ValueError(
            "Pass `observation_shape` for a model without one. Received: "
            "observation_shape=None")
    shape = (-1,) + tuple(int(s) for s in observation_shape)

    def representation_function(observations):
        x = np.asarray(observations, dtype=np.float32).reshape(shape)
        return np.asarray(model.encode(x))

    return representation_function


def disentanglement_lib_scores(ground_truth_data, representation_function,
                               metrics=DEFAULT_METRICS, random_seed=0,
                               num_train=None, num_test=None, bindings=()):
    """Scores a representation with disentanglement_lib's own metric functions.

    Each metric is disentanglement_lib's `compute_*` function, called as its
    `evaluate` calls it, after binding its settings in gin:

    ```none
    metric                   dlib function                 dlib gin bindings
    mig                      mig.compute_mig               num_train 10000
    dci                      dci.compute_dci               num_train 10000, num_test 5000
    sap_score                sap_score.compute_sap         num_train 10000, num_test 5000,
                                                           continuous_factors False
    modularity_explicitness  compute_modularity_explicit.  num_train 10000, num_test 5000
    beta_vae_sklearn         compute_beta_vae_sklearn      num_train 10000, num_eval 5000,
                                                           batch_size 64
    factor_vae_metric        compute_factor_vae            num_variance_estimate 10000,
                                                           num_train 10000, num_eval 5000,
                                                           batch_size 64,
                                                           prune_dims.threshold 0.05
    irs                      irs.compute_irs               num_train 10000, batch_size 16
    unsupervised             unsupervised_metrics          num_train 10000
    ```

    MIG, modularity, IRS and the unsupervised scores discretize with
    `discretizer.discretizer_fn = @histogram_discretizer` and
    `discretizer.num_bins = 20`; the others sample in batches of the
    functions' default, 16 points. The bindings stay in gin's global config
    afterwards (see `dlib_compat.parse_bindings`), so an operative config
    written next records them. `dci` trains one gradient-boosted classifier
    per factor (with 40-valued factors, minutes at 10,000 points): the cheap
    ones are `mig`, `sap_score` and `modularity_explicitness`.

    Args:
        ground_truth_data: an object with disentanglement_lib's
            `GroundTruthData` interface (`sample_factors`,
            `sample_observations_from_factors`, `sample`, each taking a
            `random_state`).
        representation_function: a function from a batch of observations to
            codes `[batch, d]`, e.g. `encoder_representation(model)`.
        metrics: names of `DISENTANGLEMENT_LIB_METRICS`.
        random_seed: seed of the `np.random.RandomState` each metric gets.
        num_train: overrides every metric's `num_train` (and FactorVAE's
            `num_variance_estimate`); None keeps disentanglement_lib's 10,000.
        num_test: overrides `num_test` (DCI, SAP, modularity) and `num_eval`
            (BetaVAE, FactorVAE); None keeps disentanglement_lib's 5,000.
        bindings: further gin bindings of disentanglement_lib's configurables,
            parsed last (e.g. `"discretizer.num_bins = 10"`).

    Returns:
        A dict from each metric name to disentanglement_lib's result dict
        (e.g. `{"discrete_mig": 0.31}`; arrays as lists, NumPy scalars as
        Python numbers) plus `elapsed_time` in seconds.

    Raises:
        ValueError: on an unknown metric or a non-positive size.
        ImportError: if disentanglement-lib is not installed.

    Example:

    >>> scores = disentanglement_lib_scores(
    ...     MPI3DStandIn(), encoder_representation(model), metrics=("mig",),
    ...     num_train=2000)
    >>> scores["mig"]["discrete_mig"]
    0.05...
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    unknown = [m for m in metrics if m not in DISENTANGLEMENT_LIB_METRICS]
    if unknown:
        raise ValueError(
            f"`metrics` must name metrics of {tuple(DISENTANGLEMENT_LIB_METRICS)}. "
            f"Received: metrics={tuple(metrics)!r}")
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1):
            raise ValueError(
                f"`{name}` must be a positive integer or None. Received: "
                f"{name}={value!r}")
    if isinstance(bindings, str):
        bindings = (bindings,)
    modules = dlib_compat.import_metric_modules() if metrics else {}
    scores = {}
    for name in metrics:
        metric = DISENTANGLEMENT_LIB_METRICS[name]
        metric_bindings = list(metric.bindings)
        if num_train is not None:
            metric_bindings.append(f"{metric.configurable}.num_train = {int(num_train)}")
            if name == "factor_vae_metric":
                metric_bindings.append(
                    f"{metric.configurable}.num_variance_estimate = {int(num_train)}")
        if num_test is not None and metric.test_parameter:
            metric_bindings.append(
                f"{metric.configurable}.{metric.test_parameter} = {int(num_test)}")
        dlib_compat.parse_bindings(metric_bindings + list(bindings))
        start = time.time()
        function = getattr(modules[metric.module], metric.function)
        results = function(ground_truth_data, representation_function,
                           random_state=np.random.RandomState(random_seed),
                           artifact_dir=None)
        results = {key: _to_python(value) for key, value in results.items()}
        results["elapsed_time"] = time.time() - start
        scores[name] = results
    return scores


def _to_python(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def metric_requirement_errors(ground_truth_data, metrics=DEFAULT_METRICS, random_seed=0,
                              num_train=None, num_test=None):
    """What keeps disentanglement_lib's metrics from working with these settings.

    The factors a metric samples depend only on the data set, its sizes and
    `random_seed` (never on the representation), so they are drawn here
    exactly as the metric will draw them (`utils.generate_batch_factor_code`:
    batches of 16 from a fresh `np.random.RandomState(random_seed)`, the
    observations too when the data set's observation sampling uses the random
    state) and checked against what disentanglement_lib's code needs:

    ```none
    metric                   needs
    mig, sap_score, dci      every factor takes >= 2 values among the num_train
                             points (MIG divides by the factor's entropy: NaN;
                             SAP / DCI fit a classifier per factor: ValueError)
    modularity_explicitness  the same, and per factor the num_test points take
                             exactly the values of the num_train points
                             (explicitness scores the classifier's per-class
                             probabilities against the test labels' classes:
                             IndexError or a misaligned ROC-AUC otherwise)
    factor_vae_metric,       num_train >= 2 (a variance / covariance, ddof=1)
    beta_vae_sklearn,
    unsupervised
    irs                      nothing more
    ```

    Args:
        ground_truth_data: a `GroundTruthData`-like data set.
        metrics: names of `DISENTANGLEMENT_LIB_METRICS`.
        random_seed: the seed the metrics get.
        num_train: the `num_train` override (None: disentanglement_lib's 10,000).
        num_test: the `num_test` override (None: its 5,000).

    Returns:
        A list of messages, one per metric that cannot work; each names the
        setting and the smallest value that works with this seed (the
        smallest that contains every value of every factor, for coverage).
        Empty if every metric can run.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    num_train = _DEFAULT_NUM_TRAIN if num_train is None else int(num_train)
    num_test = _DEFAULT_NUM_TEST if num_test is None else int(num_test)
    num_values = [int(n) for n in ground_truth_data.factors_num_values]
    errors = []
    for name in metrics:
        if name in _NEEDS_TWO_POINTS and num_train < 2:
            errors.append(
                f"{name} needs num_train >= 2 (a variance over its points). "
                f"Received: num_train={num_train}; the smallest that works is 2.")
        if name not in _NEEDS_TWO_VALUES_PER_FACTOR:
            continue
        sampler = _FactorStream(ground_truth_data, np.random.RandomState(random_seed))
        train = sampler.draw(num_train)
        if not _two_values_per_factor(train):
            factor = min(i for i in range(len(num_values))
                         if len(np.unique(train[:, i])) < 2)
            smallest = _FactorStream(
                ground_truth_data, np.random.RandomState(random_seed)).smallest(
                    _two_values_per_factor)
            errors.append(
                f"{name} needs every factor to take at least 2 values among its "
                f"num_train points; with random_seed={random_seed} factor {factor} "
                f"({num_values[factor]} values) takes one. Received: "
                f"num_train={num_train}; the smallest that works is {smallest}.")
            continue
        if name != "modularity_explicitness":
            continue
        test = sampler.draw(num_test)
        mismatched = [i for i in range(len(num_values))
                      if set(np.unique(train[:, i])) != set(np.unique(test[:, i]))]
        if not mismatched:
            continue
        covering = lambda factors: _covers(factors, num_values)  # noqa: E731
        train_stream = _FactorStream(ground_truth_data, np.random.RandomState(random_seed))
        train_needed = max(num_train, train_stream.smallest(covering))
        smallest_test = _FactorStream(
            ground_truth_data, _state_after(ground_truth_data, random_seed, train_needed)
        ).smallest(covering)
        factor = mismatched[0]
        fix = (f"the smallest num_test that holds every value is {smallest_test}"
               if train_needed == num_train else
               f"the smallest sizes that hold every value are num_train={train_needed}, "
               f"num_test={smallest_test}")
        errors.append(
            f"modularity_explicitness needs, per factor, its num_test points to take "
            f"exactly the values of its num_train points (explicitness compares the "
            f"classifier's classes with the test labels'); with random_seed="
            f"{random_seed} factor {factor} ({num_values[factor]} values) takes "
            f"{len(np.unique(train[:, factor]))} values among the {num_train} train "
            f"and {len(np.unique(test[:, factor]))} among the {num_test} test points. "
            f"Received: num_train={num_train}, num_test={num_test}; {fix}.")
    return errors


def _two_values_per_factor(factors):
    return all(len(np.unique(factors[:, i])) >= 2 for i in range(factors.shape[1]))


def _covers(factors, num_values):
    return all(len(np.unique(factors[:, i])) == n for i, n in enumerate(num_values))


def _state_after(ground_truth_data, random_seed, num_points):
    random_state = np.random.RandomState(random_seed)
    _FactorStream(ground_truth_data, random_state).draw(num_points)
    return random_state


class _FactorStream:
    """The factors `utils.generate_batch_factor_code` draws from `random_state`."""

    def __init__(self, ground_truth_data, random_state):
        self.data = ground_truth_data
        self.random_state = random_state
        # Whether drawing observations advances the random state (e.g. DummyData's
        # noise, nuisance factors): then they are drawn too, to stay in step.
        probe = np.random.RandomState(0)
        before = probe.get_state()[1].copy(), probe.get_state()[2]
        ground_truth_data.sample_observations_from_factors(
            ground_truth_data.sample_factors(1, np.random.RandomState(0)), probe)
        after = probe.get_state()
        self.draws_observations = not (np.array_equal(before[0], after[1])
                                       and before[1] == after[2])

    def _batch(self, num, random_state):
        factors = np.asarray(self.data.sample_factors(num, random_state))
        if self.draws_observations:
            self.data.sample_observations_from_factors(factors, random_state)
        return factors

    def draw(self, num_points):
        """`[num_points, num_factors]`, in batches of 16 as the metric draws them."""
        batches = []
        for start in range(0, num_points, _FACTOR_BATCH_SIZE):
            batches.append(self._batch(min(_FACTOR_BATCH_SIZE, num_points - start),
                                       self.random_state))
        return np.concatenate(batches) if batches else np.zeros((0, len(
            self.data.factors_num_values)), np.int64)

    def smallest(self, predicate, limit=10 ** 6):
        """The smallest number of points whose draw satisfies `predicate`
        (monotone: a draw of more points starts with the same full batches)."""
        drawn = np.zeros((0, len(self.data.factors_num_values)), np.int64)
        while len(drawn) < limit:
            state = self.random_state.get_state()
            batch = self._batch(_FACTOR_BATCH_SIZE, self.random_state)
            if predicate(np.concatenate([drawn, batch])):
                for size in range(1, _FACTOR_BATCH_SIZE):  # a shorter last batch
                    partial = np.random.RandomState()
                    partial.set_state(state)
                    if predicate(np.concatenate([drawn, self._batch(size, partial)])):
                        return len(drawn) + size
                return len(drawn) + _FACTOR_BATCH_SIZE
            drawn = np.concatenate([drawn, batch])
        return None
