"""Metrics of weakly supervised VAEs: shared-dimension count and linear probes.

Two evaluations of section 5.2 of Sutter et al. (2023), following Sutter et
al. (2023, HG-VAE):

* figure 3: the mean squared error between the estimated number of shared
  latent dimensions `n_s_hat` of a pair and the true number of shared
  generative factors `n_s` (`num_shared_mse`);
* table 2: linear classifiers (logistic regression) on the shared and on the
  independent dimensions of the representation, predicting the shared and the
  independent generative factors, scored as adjusted balanced accuracy (0 at
  chance, 1 perfect) on held-out pairs (`partition_probe_scores`).

The pure functions take numpy arrays; `weak_supervision_scores` encodes pairs
drawn from any `GroundTruthData` with a `tf_drpm.weak_supervision.WeakVAE`-like model
and calls them.
"""

import warnings

import numpy as np
from sklearn import linear_model
from sklearn import metrics as sk_metrics
from sklearn import preprocessing
from sklearn.exceptions import ConvergenceWarning

from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler

__all__ = [
    "linear_probe_score",
    "num_shared_mse",
    "partition_probe_scores",
    "shared_dimension_diagnostics",
    "summarize_shared_dimension_diagnostics",
    "weak_supervision_scores",
]


def num_shared_mse(estimated_num_shared, true_num_shared):
    """Mean squared error of the estimated number of shared dimensions.

    ```none
    MSE = mean_b (n_s_hat[b] - n_s[b])^2
    ```

    Args:
        estimated_num_shared: Array `[N]` (or scalar), the number of latent
            dimensions a model treats as shared for each pair.
        true_num_shared: Array `[N]` or scalar, the true number of shared
            generative factors (broadcast against the estimate).

    Returns:
        The mean squared error, a Python float.

    Raises:
        ValueError: on empty, non-finite or non-broadcastable inputs.
    """
    estimated = np.asarray(estimated_num_shared, dtype=np.float64)
    true = np.asarray(true_num_shared, dtype=np.float64)
    if estimated.size == 0:
        raise ValueError(
            "`estimated_num_shared` must be non-empty. Received: "
            f"estimated_num_shared.shape={estimated.shape}")
    for name, value in (("estimated_num_shared", estimated),
                        ("true_num_shared", true)):
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"`{name}` must be finite. Received: {name}={value.ravel()[:5]}...")
    try:
        difference = estimated - true
    except ValueError as e:
        raise ValueError(
            "`estimated_num_shared` and `true_num_shared` must broadcast. "
            f"Received: shapes {estimated.shape} and {true.shape}") from e
    return float(np.mean(np.square(difference)))


def linear_probe_score(train_features, train_labels, test_features, test_labels,
                       max_iter=500, random_state=0):
    """Adjusted balanced accuracy of a logistic regression probe.

    The features are standardised on the training set (constant columns stay
    0), a multinomial `sklearn.linear_model.LogisticRegression` is fitted, and
    the score is `sklearn.metrics.balanced_accuracy_score(adjusted=True)` on
    the test set: `(mean per-class recall - 1 / C) / (1 - 1 / C)` with `C` the
    number of classes in `test_labels`, so chance gives 0 and a perfect probe 1.

    Args:
        train_features: Float array `[N_train, D]`.
        train_labels: Int array `[N_train]`.
        test_features: Float array `[N_test, D]`.
        test_labels: Int array `[N_test]`.
        max_iter: Iterations of the L-BFGS solver.
        random_state: Seed of the classifier.

    Returns:
        The score, a float; NaN when the training labels hold a single class
        or either set is empty (nothing can be learned or measured).

    Raises:
        ValueError: on mismatched shapes.
    """
    train_features = np.asarray(train_features, dtype=np.float64)
    test_features = np.asarray(test_features, dtype=np.float64)
    train_labels = np.asarray(train_labels).reshape(-1)
    test_labels = np.asarray(test_labels).reshape(-1)
    if train_features.ndim != 2 or test_features.ndim != 2:
        raise ValueError(
            "Features must be 2-D. Received: train_features.shape="
            f"{train_features.shape}, test_features.shape={test_features.shape}")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            "Train and test features must have the same width. Received: "
            f"{train_features.shape[1]} and {test_features.shape[1]}")
    if (len(train_labels) != len(train_features)
            or len(test_labels) != len(test_features)):
        raise ValueError(
            "Features and labels must have the same length. Received: "
            f"{len(train_features)} / {len(train_labels)} (train), "
            f"{len(test_features)} / {len(test_labels)} (test)")
    if (len(test_labels) == 0 or len(np.unique(train_labels)) < 2
            or len(np.unique(test_labels)) < 2):
        return float("nan")
    scaler = preprocessing.StandardScaler().fit(train_features)
    classifier = linear_model.LogisticRegression(
        max_iter=max_iter, random_state=random_state)
    with warnings.catch_warnings():
        # Few examples per class, unconverged solvers and predicted classes
        # absent from the test labels are expected in small evaluations.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(scaler.transform(train_features), train_labels)
        predicted = classifier.predict(scaler.transform(test_features))
        return float(sk_metrics.balanced_accuracy_score(
            test_labels, predicted, adjusted=True))


def partition_probe_scores(codes, shared_mask, factors, factor_shared,
                           num_train, max_iter=500, random_state=0):
    """Linear probes of the shared and independent parts of a representation.

    For pair `b`, the model marks latent dimensions as shared
    (`shared_mask[b] = 1`) or independent. The shared representation is
    `codes * shared_mask`, the independent one `codes * (1 - shared_mask)`
    (the other dimensions are zeroed, so the width stays `d`). For each
    generative factor `j`:

    * the shared probe is trained and tested on the pairs that truly share
      factor `j` (`factor_shared[:, j]`), on the shared representation;
    * the independent probe on the pairs where factor `j` differs, on the
      independent representation.

    The first `num_train` pairs train, the rest test. The summary scores are
    the means over the factors with a defined score (at least two classes in
    both sets); a summary with no defined factor is NaN (e.g. the shared
    score when `n_s = 0`).

    Args:
        codes: Float array `[N, d]`, e.g. the posterior means of the first
            view after the view aggregation.
        shared_mask: Array `[N, d]` of 0/1, the dimensions the model shares.
        factors: Int array `[N, F]`, the generative factors of the first view.
        factor_shared: Bool array `[N, F]`, True where the pair shares the
            factor.
        num_train: Int in `[1, N - 1]`, number of training pairs.
        max_iter: Iterations of each logistic regression.
        random_state: Seed of the classifiers.

    Returns:
        A dict with `shared_accuracy`, `independent_accuracy` (floats) and
        `shared_accuracy_per_factor`, `independent_accuracy_per_factor`
        (float arrays `[F]`, NaN where undefined).

    Raises:
        ValueError: on mismatched shapes or an invalid `num_train`.
    """
    codes = np.asarray(codes, dtype=np.float64)
    shared_mask = np.asarray(shared_mask, dtype=np.float64)
    factors = np.asarray(factors)
    factor_shared = np.asarray(factor_shared, dtype=bool)
    if codes.ndim != 2 or shared_mask.shape != codes.shape:
        raise ValueError(
            "`codes` and `shared_mask` must be 2-D of the same shape. Received: "
            f"codes.shape={codes.shape}, shared_mask.shape={shared_mask.shape}")
    if factors.ndim != 2 or factor_shared.shape != factors.shape or (
            len(factors) != len(codes)):
        raise ValueError(
            "`factors` and `factor_shared` must be [N, F] with N = len(codes). "
            f"Received: factors.shape={factors.shape}, "
            f"factor_shared.shape={factor_shared.shape}, codes.shape={codes.shape}")
    if not np.all((shared_mask == 0) | (shared_mask == 1)):
        raise ValueError(
            "`shared_mask` must hold only 0 and 1. Received: values "
            f"{np.unique(shared_mask)[:5]}")
    if (isinstance(num_train, bool)
            or not isinstance(num_train, (int, np.integer))
            or not 1 <= num_train < len(codes)):
        raise ValueError(
            f"`num_train` must be an int in [1, {len(codes) - 1}]. "
            f"Received: num_train={num_train}")
    shared_codes = codes * shared_mask
    independent_codes = codes * (1.0 - shared_mask)
    is_train = np.arange(len(codes)) < num_train
    num_factors = factors.shape[1]
    shared_scores = np.full(num_factors, np.nan)
    independent_scores = np.full(num_factors, np.nan)
    for j in range(num_factors):
        for rows, features, scores in (
                (factor_shared[:, j], shared_codes, shared_scores),
                (~factor_shared[:, j], independent_codes, independent_scores)):
            train, test = rows & is_train, rows & ~is_train
            if train.any() and test.any():
                scores[j] = linear_probe_score(
                    features[train], factors[train, j], features[test],
                    factors[test, j], max_iter=max_iter, random_state=random_state)
    return {
        "shared_accuracy": _nanmean(shared_scores),
        "independent_accuracy": _nanmean(independent_scores),
        "shared_accuracy_per_factor": shared_scores,
        "independent_accuracy_per_factor": independent_scores,
    }


def _nanmean(values):
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def shared_dimension_diagnostics(model, x1, x2, threshold=0.05):
    """Per-pair quantities that explain a weakly supervised VAE's estimate of n_s.

    Encodes both views with `model.encode_pair` and runs the view aggregation
    deterministically (`training=False`): no random stream advances, so it can
    run inside training without changing it. It separates a size head that is
    stuck (many dims agree between the views, the estimate stays near 0) from
    an encoder that has not learnt (few dims agree):

    ```none
    num_low_kl[b]     = #{j : KL_pw[b, j] < threshold}     dims the views share
    num_shared[b]     = the aggregation's estimate n_s_hat
    size_logit_gap[b] = log w_independent - log w_shared   (HG, DRPM)
    kl_to_prior[j]    = mean_b,view KL[q(z_j | x) || N(0, 1)]
    ```

    A dim whose posterior equals the prior for every input (`kl_to_prior`
    near 0, a collapsed dim) agrees between the views trivially;
    `num_low_kl_active` counts only dims with `kl_to_prior >= 0.1` nats.

    Args:
        model: A `tf_drpm.weak_supervision.WeakVAE` (anything with `encode_pair` and an
            `aggregation` layer returning `num_shared`).
        x1, x2: Float arrays `[N, 64, 64, channels]`, the two views.
        threshold: Positive float, the divergence below which a dim counts as
            shared by the two views.

    Returns:
        A dict of numpy arrays: `num_shared`, `num_low_kl`,
        `num_low_kl_active` (`[N]`), `kl_divergence` (`[N, d]`),
        `kl_to_prior` (`[d]`) and, when the aggregation has a size head,
        `size_logit_gap` (`[N]`).

    Example:

    >>> pairs = WeakPairSampler(MPI3DStandIn(), 3).sample(256, np.random.RandomState(1))
    >>> d = shared_dimension_diagnostics(model, pairs["x1"], pairs["x2"])
    >>> d["num_low_kl"].mean(), d["num_shared"].mean()
    """
    if not threshold > 0:
        raise ValueError(
            f"`threshold` must be positive. Received: threshold={threshold}")
    mean1, log_var1, mean2, log_var2, kl_divergence = model.encode_pair(x1, x2)
    outputs = model.aggregation(kl_divergence, training=False)
    kl_to_prior = []
    for mean, log_var in ((mean1, log_var1), (mean2, log_var2)):
        mean, log_var = np.asarray(mean, np.float64), np.asarray(log_var, np.float64)
        kl_to_prior.append(0.5 * (mean**2 + np.exp(log_var) - log_var - 1.0))
    kl_to_prior = np.concatenate(kl_to_prior).mean(axis=0)
    kl_divergence = np.asarray(kl_divergence, np.float64)
    low = kl_divergence < threshold
    result = {
        "num_shared": np.asarray(outputs["num_shared"], np.float64),
        "num_low_kl": low.sum(axis=-1).astype(np.float64),
        "num_low_kl_active": (low & (kl_to_prior >= 0.1)).sum(axis=-1).astype(
            np.float64),
        "kl_divergence": kl_divergence,
        "kl_to_prior": kl_to_prior,
    }
    if "log_weights" in outputs:
        log_weights = np.asarray(outputs["log_weights"], np.float64)
        result["size_logit_gap"] = log_weights[:, 0] - log_weights[:, 1]
    return result


def summarize_shared_dimension_diagnostics(diagnostics):
    """JSON-ready summary of `shared_dimension_diagnostics`.

    Returns:
        A dict of floats (`num_shared_mean`, `num_low_kl_mean`,
        `num_low_kl_active_mean`, `num_active_dims`, and
        `size_logit_gap_mean` / `_std` / `_abs_mean` when present) and lists:
        `num_shared_histogram` / `num_low_kl_histogram` (fraction of pairs
        with 0, 1, ..., d dims; `num_shared` rounded) and `kl_to_prior`.
    """
    num_latent = diagnostics["kl_divergence"].shape[-1]

    def histogram(values):
        counts = np.bincount(np.clip(np.round(values).astype(np.int64), 0,
                                     num_latent), minlength=num_latent + 1)
        return (counts / max(1, len(values))).tolist()

    summary = {
        "num_shared_mean": float(np.mean(diagnostics["num_shared"])),
        "num_low_kl_mean": float(np.mean(diagnostics["num_low_kl"])),
        "num_low_kl_active_mean": float(np.mean(diagnostics["num_low_kl_active"])),
        "num_active_dims": int(np.sum(diagnostics["kl_to_prior"] >= 0.1)),
        "num_shared_histogram": histogram(diagnostics["num_shared"]),
        "num_low_kl_histogram": histogram(diagnostics["num_low_kl"]),
        "kl_to_prior": diagnostics["kl_to_prior"].tolist(),
    }
    if "size_logit_gap" in diagnostics:
        gap = diagnostics["size_logit_gap"]
        summary.update(size_logit_gap_mean=float(np.mean(gap)),
                       size_logit_gap_std=float(np.std(gap)),
                       size_logit_gap_abs_mean=float(np.mean(np.abs(gap))))
    return summary


def weak_supervision_scores(model, ground_truth_data, num_shared_factors,
                            random_state, num_train=5000, num_test=2000,
                            batch_size=256, max_iter=500):
    """Encodes fresh pairs with a weakly supervised VAE and scores it.

    Pairs sharing exactly `num_shared_factors` factors are drawn with
    `tf_drpm.weak_supervision.WeakPairSampler` from `random_state`, passed through
    `model(pair, training=False)` (deterministic aggregation, no sampling of
    the partition), and its outputs `mean1` (the aggregated posterior means of
    view 1), `shared_mask` and `num_shared` feed `num_shared_mse` and
    `partition_probe_scores`.

    Args:
        model: A model called on dicts `{"x1", "x2", "label"}` that returns a
            dict with `mean1`, `shared_mask` and `num_shared`
            (`tf_drpm.weak_supervision.WeakVAE`).
        ground_truth_data: Any object with disentanglement_lib's
            `GroundTruthData` interface.
        num_shared_factors: The true `n_s` of the pairs.
        random_state: `np.random.RandomState` of the evaluation pairs.
        num_train: Pairs that train the probes.
        num_test: Pairs that test the probes.
        batch_size: Pairs per model call.
        max_iter: Iterations of each logistic regression.

    Returns:
        A dict with `num_shared_mse`, `mean_num_shared` (mean estimate),
        `true_num_shared`, `shared_accuracy`, `independent_accuracy` and the
        per-factor score lists.
    """
    if num_train < 1 or num_test < 1:
        raise ValueError(
            "`num_train` and `num_test` must be positive. Received: "
            f"num_train={num_train}, num_test={num_test}")
    sampler = WeakPairSampler(ground_truth_data, num_shared_factors=num_shared_factors)
    shape = [-1] + list(ground_truth_data.observation_shape)
    if len(shape) == 3:
        shape = shape + [1]
    codes, masks, estimates, factors, shared = [], [], [], [], []
    remaining = num_train + num_test
    while remaining > 0:
        size = min(batch_size, remaining)
        remaining -= size
        pairs = sampler.sample(size, random_state)
        outputs = model(
            {"x1": pairs["x1"].reshape(shape), "x2": pairs["x2"].reshape(shape),
             "label": pairs["label"].astype(np.int32)}, training=False)
        codes.append(np.asarray(outputs["mean1"]))
        masks.append(np.round(np.asarray(outputs["shared_mask"])))
        estimates.append(np.asarray(outputs["num_shared"]))
        factors.append(pairs["factors1"])
        shared.append(pairs["shared"])
    codes, masks = np.concatenate(codes), np.concatenate(masks)
    estimates = np.concatenate(estimates)
    factors, shared = np.concatenate(factors), np.concatenate(shared)
    true_num_shared = shared.sum(axis=1)
    probes = partition_probe_scores(codes, masks, factors, shared, num_train,
                                    max_iter=max_iter)
    return {
        "num_shared_mse": num_shared_mse(estimates, true_num_shared),
        "mean_num_shared": float(np.mean(estimates)),
        "true_num_shared": float(np.mean(true_num_shared)),
        "shared_accuracy": probes["shared_accuracy"],
        "independent_accuracy": probes["independent_accuracy"],
        "shared_accuracy_per_factor": probes["shared_accuracy_per_factor"].tolist(),
        "independent_accuracy_per_factor":
            probes["independent_accuracy_per_factor"].tolist(),
    }
