"""`tf.distribute` strategy chosen by one gin-bound string.

The trainer calls `get_strategy(name)` with `train.strategy` (a string), so a
run switches strategy with one binding, e.g. `--gin_param "train.strategy =
'mirrored'"`. Device lists and the TPU address are bound on `get_strategy`
itself (`get_strategy.devices = ['/cpu:0', '/cpu:1']`).

Several workers (`'multi_worker'`): every process runs the same command with
its own `TF_CONFIG`, e.g. `{"cluster": {"worker": ["host0:port", "host1:port"]},
"task": {"type": "worker", "index": 0}}`; worker 0 is the chief. A `TF_CONFIG`
that is not JSON or whose task is not in its cluster is refused before any
connection is tried. Two timeouts bound a cluster that cannot work (both
gin-bound on `get_strategy`):

* `startup_timeout`: every task named in `TF_CONFIG` must join within this
  many seconds of the first, or each started worker stops with a
  `ClusterError` naming the cluster (TensorFlow's own default waits an hour).
* `heartbeat_timeout`: a worker that stops sending heartbeats (killed, its
  machine gone) for this many seconds fails the collective ops of the others,
  which stop with `tf.errors.UnavailableError` naming the unhealthy task. The
  trainer turns it into a `ClusterError` that says how to resume.

`create_logical_cpu_devices(n)` splits the host CPU into `n` logical devices,
so that `MirroredStrategy` can be exercised on a CPU-only machine (tests). It
must run before TensorFlow initialises its runtime, i.e. before any op.
"""

import json
import os
import re

import gin
import tensorflow as tf

from trainers.core.errors import SettingError

__all__ = [
        "ClusterError",
        "STRATEGY_NAMES",
        "check_tf_config",
        "create_logical_cpu_devices",
        "get_strategy",
]

STRATEGY_NAMES = ("default", "one_device", "mirrored", "multi_worker")

# Why there is no TPU strategy: the exact MVHG (the subset sizes of every DRPM,
# and its log-pmf) computes its conditionals and normaliser with float64 and
# complex128 FFTs, which TPUs do not have.
_TPU_ERROR = (
    "tf_drpm offers no TPU strategy: the exact MVHG conditionals and normaliser "
    "(`tf_drpm.ops.mvhg_tilted_log_pmfs`, used by every DRPM sample and log_prob) "
    "run float64 and complex128 FFTs, which TPUs do not support. Use 'default', "
    "'one_device', 'mirrored' (GPUs) or 'multi_worker'.")


class ClusterError(RuntimeError):
    """A multi-worker cluster did not form, or lost a worker while training."""


# One strategy per (name, devices, tpu_address) and process: several
# MirroredStrategy instances in one process can mix up their collective ops
# (e.g. a baseline and the main model trained by one command).
_STRATEGIES = {}


def create_logical_cpu_devices(num_devices):
    """Splits the first physical CPU into `num_devices` logical CPU devices.

    Args:
        num_devices: Python `int` >= 1, the number of logical CPU devices.

    Returns:
        The list of logical CPU device names, e.g. `['/device:CPU:0',
        '/device:CPU:1']`.

    Raises:
        ValueError: if `num_devices < 1`.
        RuntimeError: if the TensorFlow runtime is already initialised with a
            different number of logical CPUs (logical devices can only be configured
            before the first op runs, e.g. at the top of a fresh process).
    """
    if not isinstance(num_devices, int) or num_devices < 1:
        raise ValueError(
            f"`num_devices` must be an integer >= 1. Received: num_devices={num_devices!r}")
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError as e:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != num_devices:
            raise RuntimeError(
                "Logical CPU devices must be configured before TensorFlow runs any "
                f"op; the runtime already has {len(existing)} logical CPU device(s). "
                f"Received: num_devices={num_devices}. Call "
                "`create_logical_cpu_devices` at the start of a fresh process.") from e
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def check_tf_config(tf_config):
    """Parses a `TF_CONFIG` string; raises `ValueError` unless it is usable.

    Checks that it is a JSON object with a `cluster` of task lists and a
    `task` whose type is in the cluster and whose index is within its list.

    Args:
        tf_config: The `TF_CONFIG` value (a JSON string).

    Returns:
        The parsed config, a dict.

    Raises:
        ValueError: naming what is wrong, with the received value.
    """
    try:
        config = json.loads(tf_config)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"`TF_CONFIG` is not JSON ({e}). Received: TF_CONFIG={tf_config!r}") from e
    if not isinstance(config, dict):
        raise ValueError(f"`TF_CONFIG` must be a JSON object. Received: TF_CONFIG={tf_config!r}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(addresses, list) and addresses for addresses in cluster.values()):
        raise ValueError(
            "`TF_CONFIG` needs a `cluster` mapping task types to non-empty address lists. "
            f"Received: TF_CONFIG={tf_config!r}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"The `task` of `TF_CONFIG` must name a task type of its cluster "
            f"({sorted(cluster)}). Received: TF_CONFIG={tf_config!r}")
    index = task.get("index")
    size = len(cluster[task["type"]])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ValueError(
            f"The `task` index of `TF_CONFIG` must be in [0, {size}) for the {size} "
            f"'{task['type']}' task(s) of its cluster. Received: TF_CONFIG={tf_config!r}")
    return config


@gin.configurable("get_strategy", denylist=["name"])
def get_strategy(name="default", devices=None, tpu_address=None, startup_timeout=600.0,
                 heartbeat_timeout=10.0):
    """Returns the `tf.distribute.Strategy` named by `name`.

    Args:
        name: one of `'default'` (TensorFlow's default strategy: no replication,
            the current device), `'one_device'` (`OneDeviceStrategy` on `devices[0]`,
            or the first GPU, else the CPU), `'mirrored'` (`MirroredStrategy` over
            `devices`, or all local GPUs, else the CPU), `'multi_worker'`
            (`MultiWorkerMirroredStrategy`; the cluster comes from the `TF_CONFIG`
            environment variable). `'tpu'` is refused: the exact MVHG needs
            float64 / complex128 FFTs, which TPUs lack.
        devices: optional list of device names for `'one_device'` and
            `'mirrored'`.
        tpu_address: unused (kept so that configs binding it parse); `'tpu'`
            raises.
        startup_timeout: `'multi_worker'` only: seconds within which every task
            of `TF_CONFIG` must join the cluster.
        heartbeat_timeout: `'multi_worker'` only: seconds without heartbeats
            after which a worker counts as failed and the others stop.

    Returns:
        strategy: a `tf.distribute.Strategy`; the same instance for the same
        arguments within a process.

    Raises:
        ValueError: if `name` is not one of `STRATEGY_NAMES` (`'tpu'`: with the
            reason), `devices` does not fit the strategy, or a timeout is not a
            positive number.
        ClusterError: if a `'multi_worker'` cluster does not form within
            `startup_timeout`.
    """
    if name == "tpu":
        raise SettingError(_TPU_ERROR + " Received: name='tpu'")
    if name not in STRATEGY_NAMES:
        raise SettingError(
            f"`train.strategy` must be one of {STRATEGY_NAMES}. Received: name={name!r}")
    if devices is not None:
        devices = list(devices)
        if not devices:
            raise SettingError(f"`devices` must be non-empty. Received: devices={devices}")
    for arg, value in (("startup_timeout", startup_timeout),
                       ("heartbeat_timeout", heartbeat_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise SettingError(f"`{arg}` must be a positive number of seconds. "
                             f"Received: {arg}={value!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    key = (name, tuple(devices) if devices else None, tpu_address)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _make_strategy(name, devices, startup_timeout, heartbeat_timeout)
    return _STRATEGIES[key]


def _configure_coordination(cluster, startup_timeout, heartbeat_timeout):
    """Sets the coordination service's timeouts before the strategy starts it.

    `MultiWorkerMirroredStrategy` configures the service itself only when it
    is unconfigured, with no start-up bound; this is its configuration plus
    the two timeouts (TensorFlow has no public API for them).
    """
    # pylint: disable=g-import-not-at-top
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    cluster_spec = tf.train.ClusterSpec(cluster)
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster_spec),
        cluster_register_timeout_in_ms=int(1000 * startup_timeout),
        heartbeat_timeout_in_ms=int(1000 * heartbeat_timeout),
        coordinated_jobs=[
            coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(cluster[job]))
            for job in ("chief", "worker") if job in cluster])
    # Registration waits at a barrier bounded by the timeout (else for ever).
    context.context().coordination_service.cluster_register_with_barrier = True


def _make_strategy(name, devices, startup_timeout, heartbeat_timeout):
    if name == "one_device":
        if devices is not None and len(devices) != 1:
            raise ValueError(
                "The 'one_device' strategy takes exactly one device. "
                f"Received: devices={devices}")
        device = devices[0] if devices else (
            "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    # name == "multi_worker"
    tf_config = os.environ.get("TF_CONFIG")
    if not tf_config:
        tf.get_logger().warning(
            "multi_worker strategy without TF_CONFIG: running as a single worker.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    config = check_tf_config(tf_config)
    _configure_coordination(config["cluster"], startup_timeout, heartbeat_timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as e:
        task = config["task"]
        raise ClusterError(
            f"The multi-worker cluster did not form: not every task of TF_CONFIG joined "
            f"within startup_timeout={startup_timeout} s (this is task "
            f"{task['type']} {task['index']}).{_missing_tasks(str(e), config['cluster'])} "
            f"Start the same command on every address of the cluster {config['cluster']}, "
            "or raise `get_strategy.startup_timeout`. TensorFlow: "
            f"{str(e).splitlines()[0]}") from e


def _missing_tasks(message, cluster):
    """' Missing: worker 2 (host:port).' from TensorFlow's barrier time-out message."""
    _, _, tail = message.partition("timed out task names:")
    names = re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", tail)
    if not names:
        return ""
    return " Missing: " + ", ".join(
        f"{job} {index} ({cluster[job][int(index)]})" for job, index in names
        if job in cluster and int(index) < len(cluster[job])) + "."
