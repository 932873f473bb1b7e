"""A local multi-worker cluster: N processes of one module on 127.0.0.1.

`run_workers` starts `python -m <module> <argv>` once per worker, each with a
`TF_CONFIG` naming every worker (free ports, `free_ports`) and its own index
(`tf_config`), and waits for them; worker 0 is the chief. Used by the tests
and benchmarks of `train.strategy = 'multi_worker'` and by the distributed
step commands.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["free_ports", "run_workers", "tf_config"]


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(ports, index):
    """The `TF_CONFIG` (a JSON string) of worker `index` of a cluster of
    workers on 127.0.0.1 at `ports`."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def run_workers(argv, *, module, num_workers=2, timeout=120, env=None, cwd=None,
                missing_workers=0, ports=None):
    """Runs `python -m <module> <argv>` as `num_workers` worker processes on
    127.0.0.1 and waits for them.

    Each process gets a `TF_CONFIG` naming every worker (free ports) and its
    own index; worker 0 is the chief. The processes are killed if one of them
    fails or if they are not all done within `timeout` seconds, so a broken
    cluster cannot hang the caller.

    Args:
        argv: The module's command line, e.g. `["--gin_file", ..., "--gin_param",
            "train.strategy = 'multi_worker'"]` for `module="trainers.toy"`.
        module: The module run by `python -m`.
        num_workers: Python int, the number of worker processes.
        timeout: Seconds for the whole cluster.
        env: Optional environment of the processes (default: this one's).
        cwd: Optional working directory of the processes.
        missing_workers: Python int, further workers named in `TF_CONFIG`
            but not started (to test a cluster that cannot form).
        ports: Optional list of `num_workers + missing_workers` ports (default:
            free ones), e.g. to restart a cluster with the same `TF_CONFIG`.

    Returns:
        The wall time in seconds.

    Raises:
        RuntimeError: if a worker fails or the timeout passes, with the end of
            each worker's stderr.
    """
    ports = list(ports) if ports is not None else free_ports(num_workers + missing_workers)
    if len(ports) != num_workers + missing_workers:
        raise ValueError(f"`ports` must hold {num_workers + missing_workers} ports. "
                         f"Received: ports={ports}")
    processes, logs = [], []
    start = time.perf_counter()
    try:
        for index in range(num_workers):
            worker_env = dict(os.environ if env is None else env)
            worker_env["TF_CONFIG"] = tf_config(ports, index)
            log = tempfile.TemporaryFile(mode="w+")
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", module, *argv],
                env=worker_env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log))
        deadline = start + timeout
        while any(p.poll() is None for p in processes):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            if failed or time.perf_counter() > deadline:
                break
            time.sleep(0.2)
        codes = [p.poll() for p in processes]
        if codes != [0] * num_workers:
            reason = ("timed out after {timeout} s" if None in codes and not any(codes)
                      else "failed").format(timeout=timeout)
            tails = []
            for index, log in enumerate(logs):
                log.seek(0)
                tails.append(f"--- worker {index} (exit {codes[index]}) ---\n"
                             + log.read()[-3000:])
            raise RuntimeError(
                f"The {num_workers}-worker run {reason}: exit codes {codes}.\n"
                + "\n".join(tails))
        return time.perf_counter() - start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
