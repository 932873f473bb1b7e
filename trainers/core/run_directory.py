"""Guards of a run directory: one writer at a time, no silent config change.

* `RunLock(model_dir)`: an exclusive `fcntl.flock` on `<model_dir>/run.lock`
  (which records the holder's pid, host and command). A second writer (another
  process) stops with a message naming the holder. The kernel drops the lock
  when its process dies, even by `kill -9`, so a lock file left by a dead
  process is simply taken over. Re-entrant within a process (the CLI and
  `training.train` both lock the directory of a toy or MTL run; the weak and
  VC families lock their sub-run directories too). A no-op on a non-chief
  worker of a cluster, which does not write the run directory.
* `check_config(model_dir, config, allow_change)`: a run directory remembers
  the gin config it was started with (`config.gin`); a different config is
  refused unless `allow_change`, and the error names the bindings that differ.
  Bindings of evaluation-only configurables (`register_evaluation_configurables`,
  e.g. the weak family's `weak_evaluate` and `weak_dlib_metrics`) may change
  freely: they do not touch training, and the family re-evaluates the runs
  whose results came from other evaluation settings (`evaluation_bindings`).
* Several workers (`TF_CONFIG`): the chief writes the run directory; every
  other worker writes the same files (checkpoints included, so that any
  collective op a save runs happens on every worker) under its own temporary
  directory, `output_path(path)`, which `WorkerOutput` creates and removes.
  Its name depends only on the cluster and the task, so a worker restarted
  after a `kill -9` replaces what its killed predecessor left. Every worker
  reads the run directory itself (a file system the workers share).
* `RunDirectoryError`: what both raise (and what a corrupt `state.json` or
  checkpoint raises in `training`), with the way out in the message.
"""

import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile

__all__ = [
    "CONFIG_FILE",
    "LOCK_FILE",
    "RunDirectoryError",
    "RunLock",
    "WorkerOutput",
    "check_config",
    "config_bindings",
    "evaluation_bindings",
    "is_chief_process",
    "output_path",
    "register_evaluation_configurables",
    "worker_output_root",
]

CONFIG_FILE = "config.gin"
LOCK_FILE = "run.lock"

_EVALUATION_CONFIGURABLES = set()  # gin names whose bindings only change evaluation
_HELD = {}  # realpath of a lock file -> [file object, count] (this process)
_WORKER_OUTPUT_DEPTH = [0]  # nesting of `WorkerOutput` in this process


class RunDirectoryError(RuntimeError):
    """A run directory cannot be used as asked (busy, changed config, corrupt state)."""


def _tf_config(tf_config=None):
    if tf_config is None:
        tf_config = os.environ.get("TF_CONFIG", "")
    try:
        config = json.loads(tf_config or "{}")
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def is_chief_process(tf_config=None):
    """False for a non-chief task of a multi-worker cluster (`TF_CONFIG`).

    The chief is the `chief` task, or worker 0 of a cluster without one; a
    process outside a cluster is its own chief.

    Args:
        tf_config: a `TF_CONFIG` JSON string (default: the environment's).
    """
    config = _tf_config(tf_config)
    task = config.get("task") or {}
    task_type = task.get("type")
    if not task_type:
        return True
    if task_type == "chief":
        return True
    return (task_type == "worker" and int(task.get("index", 0)) == 0
            and "chief" not in (config.get("cluster") or {}))


def worker_output_root(tf_config=None):
    """This non-chief worker's temporary output directory, or None on the chief.

    `<temp dir>/tf_drpm-<task type><index>-<hash of the cluster>`: the same
    for a restart of the same task of the same cluster.

    Args:
        tf_config: a `TF_CONFIG` JSON string (default: the environment's).
    """
    if is_chief_process(tf_config):
        return None
    config = _tf_config(tf_config)
    task = config["task"]
    cluster = json.dumps(config.get("cluster"), sort_keys=True)
    digest = hashlib.sha1(cluster.encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(),
                        f"tf_drpm-{task['type']}{int(task.get('index', 0))}-{digest}")


def output_path(path):
    """Where this process writes `path`.

    `path` itself on the chief; on another worker of a cluster, the same
    absolute path under `worker_output_root()`, its parent directory created.
    """
    root = worker_output_root()
    if root is None:
        return path
    mirrored = os.path.join(root, os.path.abspath(path).lstrip(os.sep))
    os.makedirs(os.path.dirname(mirrored), exist_ok=True)
    return mirrored


class WorkerOutput:
    """Context manager: a non-chief worker's temporary output directory.

    On entry (outermost) the directory of `worker_output_root()` is emptied
    (a killed predecessor's files) and created; on exit it is removed. No-op
    on the chief. Re-entrant within a process (the CLI and `training.train`).
    """

    def __enter__(self):
        root = worker_output_root()
        if root is not None and _WORKER_OUTPUT_DEPTH[0] == 0:
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
        _WORKER_OUTPUT_DEPTH[0] += 1
        return root

    def __exit__(self, *exc_info):
        _WORKER_OUTPUT_DEPTH[0] -= 1
        root = worker_output_root()
        if root is not None and _WORKER_OUTPUT_DEPTH[0] == 0:
            shutil.rmtree(root, ignore_errors=True)
        return False


class RunLock:
    """Context manager: exclusive use of a run directory by this process.

    A no-op on a non-chief worker of a cluster (`is_chief_process()` is
    False): only the chief writes the run directory.

    Args:
        model_dir: the run directory (created).

    Raises:
        RunDirectoryError: on entry, if another live process holds the lock.
    """

    def __init__(self, model_dir):
        self.model_dir = model_dir
        # None: a non-chief worker, which takes no lock.
        self.path = (os.path.realpath(os.path.join(model_dir, LOCK_FILE))
                     if is_chief_process() else None)

    def __enter__(self):
        if self.path is None:
            return self
        held = _HELD.get(self.path)
        if held is not None:
            held[1] += 1
            return self
        os.makedirs(self.model_dir, exist_ok=True)
        handle = open(self.path, "a+")  # pylint: disable=consider-using-with
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise RunDirectoryError(
                f"The run directory {self.model_dir!r} is in use by another process "
                f"({holder}); two writers would interleave its checkpoints and "
                f"epochs.jsonl. Wait for that run to end (or stop it), or use another "
                f"--model_dir. Lock file: {self.path}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)}, sort_keys=True) + "\n")
        handle.flush()
        _HELD[self.path] = [handle, 1]
        return self

    def __exit__(self, *exc_info):
        if self.path is None:
            return False
        held = _HELD[self.path]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.path]
            # The file stays (removing it would race with a new holder); the
            # lock itself goes with the descriptor.
            fcntl.flock(held[0].fileno(), fcntl.LOCK_UN)
            held[0].close()
        return False


def config_bindings(text):
    """`{binding: value}` of a gin config text (`gin.config_str()` format).

    Comments and blank lines are skipped; a value continued on indented lines
    (long lists, dicts) is joined into one line; other statements (imports,
    includes) are kept as keys with an empty value.
    """
    bindings, key = {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace() and key is not None:
            bindings[key] = (bindings[key] + " " + stripped).strip()
            continue
        match = re.match(r"^([^=\s]+)\s*=\s*(.*)$", stripped)
        if match:
            key = match.group(1)
            bindings[key] = match.group(2).rstrip("\\").strip()
        else:
            key = None
            bindings[stripped] = ""
    return {k: re.sub(r"\s*\\\s*", " ", v).strip() for k, v in bindings.items()}


def register_evaluation_configurables(*names):
    """Declares gin configurables that only evaluate a trained model.

    Their bindings may differ from a run directory's stored config without
    `allow_change` (`check_config`); a family that registers them must
    re-evaluate a finished run whose results came from other values of them
    (compare `evaluation_bindings` of the configs). Called by a family's
    module when imported.
    """
    _EVALUATION_CONFIGURABLES.update(names)


def _configurable(binding):
    """`scope/name.param` -> `name` (the last path component of the selector)."""
    selector = binding.rsplit(".", 1)[0] if "." in binding else binding
    return selector.rsplit("/", 1)[-1].rsplit(".", 1)[-1]


def evaluation_bindings(text):
    """`{binding: value}` of the evaluation-only configurables in a config text."""
    return {key: value for key, value in config_bindings(text).items()
            if _configurable(key) in _EVALUATION_CONFIGURABLES}


def _describe_changes(old, new):
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            lines.append(f"  {key}: {old[key]} -> (unset)")
        elif key not in old:
            lines.append(f"  {key}: (unset) -> {new[key]}")
        elif old[key] != new[key]:
            lines.append(f"  {key}: {old[key]} -> {new[key]}")
    return lines


def check_config(model_dir, config, allow_change=False, write=True):
    """Refuses a run directory started with another gin config; records `config`.

    Args:
        model_dir: the run directory.
        config: the new config text (`gin.config_str()`).
        allow_change: resume even if the stored config differs (the old one is
            kept as `config.before-<UTC time>.gin`, as it is when only
            evaluation-only bindings differ, which needs no `allow_change`).
        write: write `config.gin` (False on a non-chief worker).

    Raises:
        RunDirectoryError: if `model_dir/config.gin` exists, differs in a
            binding that is not evaluation-only from `config` and
            `allow_change` is False.
    """
    path = os.path.join(model_dir, CONFIG_FILE)
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        old_bindings, new_bindings = config_bindings(old), config_bindings(config)
        changes = _describe_changes(old_bindings, new_bindings)
        training_changes = _describe_changes(
            {k: v for k, v in old_bindings.items()
             if _configurable(k) not in _EVALUATION_CONFIGURABLES},
            {k: v for k, v in new_bindings.items()
             if _configurable(k) not in _EVALUATION_CONFIGURABLES})
        if training_changes and not allow_change:
            raise RunDirectoryError(
                f"The run directory {model_dir!r} was started with another config "
                f"({path}); resuming it with this one would mix two experiments in one "
                "run. Bindings that differ (stored -> new):\n" + "\n".join(training_changes)
                + "\nUse another --model_dir, or pass --allow_config_change to resume "
                "with the new config anyway.")
        if changes and write:
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            os.replace(path, os.path.join(model_dir, f"config.before-{stamp}.gin"))
    if write:
        os.makedirs(model_dir, exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(config)
        os.replace(tmp, path)
