"""Profile: where the time of one DRPM sample + gradient goes.

Times the pieces of `RelaxedDRPM(...).sample` with its gradient, each as its
own `tf.function(jit_compile=True)` in one process, interleaved (round robin)
so that a change of machine load hits every piece alike, and prints one JSON
line per case with the median milliseconds of each piece, its share of the
full step and the number of instructions of the optimised XLA HLO.

The pieces (float32 parameters; the MVHG internals are float64):

* `drpm`: the whole DRPM sample + gradient (as `benchmarks/partition.py`).
* `neuralsort`: a relaxed Plackett-Luce sample + gradient (the floor).
* `neuralsort_obvious`: the same with the obvious dense formulation (the
  `[B, n, n]` matrix of `|s_i - s_j|` summed, `tf.argsort` for the hard order).
* `mvhg_counts`: the relaxed MVHG counts alone + gradient w.r.t. the log-weights.
* `tilted_pmfs`: the tilt, the binomial pmfs and the suffix FFTs alone + gradient
  (part of `mvhg_counts`; the rest is the sequential conditionals).
* `sort_partition`: the straight-through sort of the perturbed scores filled
  into given subset masks + gradient w.r.t. the scores and the masks.
* `hard_partition`: its forward exact part alone (argsorts and a gather).
* `soft_sort_partition`: its relaxed part alone + gradient (one `[B, n, n]`
  softmax at n <= chunk_size).
* `abs_rowsum`: `pairwise_abs_rowsum` + gradient (part of the relaxed sort).
* `scores_noise_masks`: the Gumbel noise of the scores and `subset_masks`.
* `log_tilt`: `mvhg_log_tilt` alone (part of `tilted_pmfs`, no gradient).
* `validity`: the run-time validity handling of a sample (parameter checks
  and replacements, NaN selects of the outputs), with one `[B, K, n]` add.
* `overhead`: a function that returns its two inputs plus 0: the fixed cost
  of one call (dispatch, copying the results out), part of every figure.

Usage:
  python benchmarks/partition_profile.py                  # the default cases
  python benchmarks/partition_profile.py --cases 10:2:64  # n:K:batch
  python benchmarks/partition_profile.py --pieces mvhg_counts,sort_partition
"""

import argparse
import importlib
import json
import os
import statistics
import time

DEFAULT_CASES = "10:2:64,50:2:256,64:10:16"


def _pieces(n, num_subsets, batch, dtype, package="tf_drpm"):
    """The timed functions; `package` names the library (another checkout's copy
    for `benchmarks/partition_ab.py`)."""
    import tensorflow as tf

    def module(name):
        return importlib.import_module(f"{package}.{name}")

    distributions = module("distributions")
    RelaxedDRPM = distributions.RelaxedDRPM
    RelaxedMultivariateNoncentralHypergeometric = (
        distributions.RelaxedMultivariateNoncentralHypergeometric)
    RelaxedPlackettLuce = distributions.RelaxedPlackettLuce
    drpm_util = module("internal.drpm_util")
    mvhg_util = module("internal.mvhg_util")
    sample_gumbel = module("ops.gumbel").sample_gumbel
    mvhg_log_tilt = module("ops.mvhg_log_coefficients").mvhg_log_tilt
    mvhg_tilted_log_pmfs = module("ops.mvhg_log_coefficients").mvhg_tilted_log_pmfs
    pairwise_abs_rowsum = module("ops.neural_sort").pairwise_abs_rowsum
    hard_sort_partition = module("ops.soft_sort_partition").hard_sort_partition
    soft_sort_partition = module("ops.soft_sort_partition").soft_sort_partition
    sort_partition = module("ops.soft_sort_partition").sort_partition
    subset_masks = module("ops.subset_masks").subset_masks

    log_weights = tf.Variable(tf.random.stateless_normal([batch, num_subsets], [1, 2], dtype=dtype))
    log_scores = tf.Variable(tf.random.stateless_normal([batch, n], [3, 4], dtype=dtype))
    temperature = tf.constant(0.5, dtype)
    target = tf.random.stateless_normal([batch, num_subsets, n], [5, 6], dtype=dtype)
    target_nn = tf.random.stateless_normal([batch, n, n], [5, 6], dtype=dtype)
    target_k = tf.random.stateless_normal([batch, num_subsets], [7, 8], dtype=dtype)
    sizes = RelaxedMultivariateNoncentralHypergeometric(
        float(n), [float(n)] * num_subsets, log_weights, temperature, max_count=n)
    counts = tf.Variable(sizes.sample(seed=[9, 9]))
    masks = tf.Variable(subset_masks(counts, n))
    n64 = tf.constant(float(n), tf.float64)
    sizes64 = tf.fill([num_subsets], tf.constant(float(n), tf.float64))

    def grad(loss_fn, variables):
        with tf.GradientTape() as tape:
            loss = loss_fn()
        return tape.gradient(loss, variables)

    def drpm(seed):
        return grad(lambda: tf.reduce_sum(
            RelaxedDRPM(log_weights, log_scores, temperature).sample(seed=seed) * target),
            [log_weights, log_scores])

    def neuralsort(seed):
        return grad(lambda: tf.reduce_sum(
            RelaxedPlackettLuce(log_scores, temperature).sample(seed=seed) * target_nn),
            [log_scores])

    def neuralsort_obvious(seed):
        def loss():
            scores = log_scores + sample_gumbel([batch, n], seed=seed, dtype=dtype)
            rowsum = tf.reduce_sum(tf.abs(scores[:, :, None] - scores[:, None, :]), -1)
            scaling = n - 1. - 2. * tf.range(n, dtype=dtype)
            soft = tf.nn.softmax((scaling[:, None] * scores[:, None, :] - rowsum[:, None, :])
                                 / temperature, axis=-1)
            order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
            hard = tf.one_hot(order, n, dtype=dtype)
            return tf.reduce_sum((soft + tf.stop_gradient(hard - soft)) * target_nn)
        return grad(loss, [log_scores])

    def mvhg_counts(seed):
        return grad(lambda: tf.reduce_sum(sizes.sample(seed=seed) * target_k), [log_weights])

    def tilted_pmfs(seed):
        del seed

        def loss():
            _, log_b, log_s = mvhg_tilted_log_pmfs(
                n64, sizes64, tf.cast(log_weights, tf.float64), n, first_row=1)
            finite = lambda x: tf.reduce_sum(tf.where(tf.math.is_finite(x), x, tf.zeros_like(x)))
            return finite(log_b) + finite(log_s)
        return grad(loss, [log_weights])

    def sort_partition_(seed):
        del seed
        return grad(lambda: tf.reduce_sum(
            sort_partition(masks, log_scores, temperature, hard=True) * target),
            [log_scores, masks])

    def hard_partition(seed):
        del seed
        return [hard_sort_partition(masks, log_scores)]

    def soft_partition(seed):
        del seed
        return grad(lambda: tf.reduce_sum(
            soft_sort_partition(masks, log_scores, temperature, masks_gradient=False) * target),
            [log_scores])

    def abs_rowsum(seed):
        del seed
        return grad(lambda: tf.reduce_sum(pairwise_abs_rowsum(log_scores) * log_scores),
                    [log_scores])

    def log_tilt(seed):
        del seed
        return [mvhg_log_tilt(n64, sizes64, tf.cast(log_weights, tf.float64))]

    def validity(seed):
        # The run-time validity handling of one DRPM sample: the parameter
        # checks and replacements of the distribution and of the MVHG sampler
        # and the NaN selects of the outputs.
        del seed
        batch_shape = tf.constant([batch])
        lw, ls, _, valid = drpm_util.broadcast_parameters(
            batch_shape, log_weights, log_scores, None, dtype)
        n_, m = mvhg_util.safe_parameters(
            n64 * tf.ones([batch], tf.float64), tf.cast(tf.ones_like(lw), tf.float64) * n64,
            mvhg_util.valid_parameters(n64, sizes64, n))
        valid = valid & mvhg_util.finite_log_weights(tf.cast(lw, tf.float64))
        return [drpm_util.nan_unless_valid(target + lw[..., None] + ls[:, None], valid, 2),
                mvhg_util.nan_unless_valid(m, valid) + n_[:, None]]

    def overhead(seed):
        del seed
        return [log_weights + 0., log_scores + 0.]

    def scores_noise_masks(seed):
        noise = sample_gumbel([1, batch, n], seed=seed, dtype=dtype)
        return [log_scores + noise, subset_masks(counts, n)]

    return dict(drpm=drpm, neuralsort=neuralsort, neuralsort_obvious=neuralsort_obvious,
                mvhg_counts=mvhg_counts,
                tilted_pmfs=tilted_pmfs, sort_partition=sort_partition_,
                hard_partition=hard_partition, soft_sort_partition=soft_partition,
                abs_rowsum=abs_rowsum, scores_noise_masks=scores_noise_masks,
                log_tilt=log_tilt, validity=validity, overhead=overhead)


def _hlo_instructions(function, seed):
    """Number of instructions of the optimised HLO module (a rough op count)."""
    try:
        text = function.experimental_get_compiler_ir(seed)(stage="optimized_hlo")
    except Exception:  # noqa: BLE001 - the count is informative only
        return None
    return sum(1 for line in text.splitlines() if " = " in line)


def profile_case(n, num_subsets, batch, dtype_name="float32", rounds=7, min_seconds=0.3,
                 pieces=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    dtype = tf.as_dtype(dtype_name)
    all_pieces = _pieces(n, num_subsets, batch, dtype)
    wanted = ["drpm", "neuralsort"] + [p for p in (pieces or all_pieces)
                                       if p not in ("drpm", "neuralsort")]
    unknown = sorted(set(wanted) - set(all_pieces))
    if unknown:
        raise ValueError(f"Unknown pieces {unknown}; known: {sorted(all_pieces)}")
    functions = {name: tf.function(all_pieces[name], jit_compile=True) for name in wanted}
    compile_s, hlo = {}, {}
    for name, function in functions.items():
        start = time.perf_counter()
        [g.numpy() for g in function(tf.constant([0, 0]))]
        compile_s[name] = round(time.perf_counter() - start, 2)
        hlo[name] = _hlo_instructions(function, tf.constant([0, 0]))
    samples = {name: [] for name in functions}
    for round_index in range(rounds):
        for name, function in functions.items():
            steps, start = 0, time.perf_counter()
            while True:
                [g.numpy() for g in function(tf.constant([round_index, steps]))]
                steps += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds and steps >= 3:
                    break
            samples[name].append(1000 * elapsed / steps)
    ms = {name: statistics.median(values) for name, values in samples.items()}
    full = ms["drpm"]
    return {
        "n": n, "K": num_subsets, "batch": batch, "dtype": dtype_name,
        "ms": {name: round(value, 3) for name, value in ms.items()},
        "share_of_drpm": {name: round(value / full, 2) for name, value in ms.items()},
        "drpm_over_neuralsort": round(full / ms["neuralsort"], 2),
        "compile_s": compile_s,
        "hlo_instructions": hlo,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--cases", default=DEFAULT_CASES, help="n:K:batch,...")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-seconds", type=float, default=0.3)
    parser.add_argument("--pieces", default="",
                        help="comma-separated pieces to time (drpm and neuralsort always)")
    args = parser.parse_args(argv)
    pieces = [p for p in args.pieces.split(",") if p] or None
    for case in args.cases.split(","):
        n, num_subsets, batch = (int(x) for x in case.split(":"))
        print(json.dumps(profile_case(n, num_subsets, batch, args.dtype, args.rounds,
                                      args.min_seconds, pieces)), flush=True)


if __name__ == "__main__":
    main()
