"""Tests of the shared trainer (trainers/core/training.py, strategy.py, cli.py) on the toy family."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import gin
import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tests.trainers import fault_injection
from tests.trainers import resume_util
from trainers import toy  # noqa: F401  (registers the toy family's configurables)
from trainers.core import cli
from trainers.core import run_directory
from trainers.core import strategy as strategy_lib
from trainers.core import training
from trainers.core.workers import free_ports
from trainers.core.workers import run_workers

REPO_ROOT = subprocess_result.REPO_ROOT
TOY_GIN = os.path.join(REPO_ROOT, "gin", "tests", "toy_smoke.gin")


def _env():
    return subprocess_result.subprocess_env()


def _toy_command(model_dir, *gin_params):
    command = [sys.executable, "-m", "trainers.toy", "--gin_file", TOY_GIN,
               "--model_dir", model_dir]
    for param in gin_params:
        command += ["--gin_param", param]
    return command


def _read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class TrainEndToEndTest(tf.test.TestCase):

    def test_toy_run_writes_run_directory(self):
        model_dir = os.path.join(self.get_temp_dir(), "toy")
        # Op determinism is process-wide: keep it off in-process (the resume
        # test below runs deterministic subprocesses).
        result = cli.run_with_gin(
            training.train, model_dir, [TOY_GIN],
            ["train.epochs = 3", "train.deterministic = False", "train.verbose = 0"])
        # gin is cleared after the run.
        with self.assertRaises(ValueError):
            gin.query_parameter("train.epochs")
        self.assertLen(result.history, 3)
        self.assertEqual([r["step"] for r in result.history], [8, 16, 24])
        losses = [r["logs"]["loss"] for r in result.history]
        self.assertLess(losses[-1], 0.5 * losses[0])
        with open(os.path.join(model_dir, "results.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["step"], 24)
        self.assertEqual(summary["num_replicas"], 1)
        self.assertAllClose(summary["results"]["mse"], result.results["mse"])
        self.assertLess(summary["results"]["weight_error"], 1.0)
        with open(os.path.join(model_dir, "results.md")) as f:
            table = f.read()
        self.assertIn("| method | mse | weight_error |", table)
        with open(os.path.join(model_dir, "operative_config.gin")) as f:
            operative = f.read()
        self.assertIn("train.epochs = 3", operative)
        self.assertIn("SGD.learning_rate = 0.05", operative)
        records = _read_jsonl(os.path.join(model_dir, "epochs.jsonl"))
        self.assertEqual([r["epoch"] for r in records], [1, 2, 3])
        for sub in ("train", "validation"):
            events = os.listdir(os.path.join(model_dir, "tensorboard", sub))
            self.assertTrue(any(e.startswith("events.out.tfevents") for e in events))
        kept = [n for n in os.listdir(os.path.join(model_dir, "checkpoints"))
                if n.endswith(".weights.h5")]
        self.assertEqual(sorted(kept), ["epoch-0002.weights.h5", "epoch-0003.weights.h5"])

    def test_scalar_summaries_are_readable(self):
        model_dir = os.path.join(self.get_temp_dir(), "toy_tb")
        cli.run_with_gin(training.train, model_dir, [TOY_GIN],
                         ["train.epochs = 2", "train.deterministic = False",
                          "train.verbose = 0"])
        train_dir = os.path.join(model_dir, "tensorboard", "train")
        values = {}
        for name in os.listdir(train_dir):
            for raw in tf.data.TFRecordDataset(os.path.join(train_dir, name)):
                event = tf.compat.v1.Event.FromString(raw.numpy())
                for value in event.summary.value:
                    values[(value.tag, event.step)] = float(
                        tf.make_ndarray(value.tensor))
        records = _read_jsonl(os.path.join(model_dir, "epochs.jsonl"))
        for record in records:
            self.assertAllClose(values[("loss", record["epoch"])], record["logs"]["loss"])

    def test_optimizer_instance_is_rejected(self):
        import keras  # pylint: disable=g-import-not-at-top
        with self.assertRaisesRegex(ValueError, "Received: optimizer="):
            training.train(os.path.join(self.get_temp_dir(), "bad"),
                           model_fn=lambda: None, data_fn=lambda **_: None,
                           optimizer=keras.optimizers.SGD())

    def test_unknown_strategy_name(self):
        with self.assertRaisesRegex(ValueError, "Received: name='gpu_cluster'"):
            strategy_lib.get_strategy("gpu_cluster")

    def test_tpu_is_refused_with_the_reason(self):
        self.assertNotIn("tpu", strategy_lib.STRATEGY_NAMES)
        with self.assertRaisesRegex(ValueError, "float64 and complex128 FFTs.*name='tpu'"):
            strategy_lib.get_strategy("tpu")

    def test_bad_tf_config_is_refused_before_connecting(self):
        cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
        for tf_config, message in (
                ("{worker", "is not JSON"),
                (json.dumps({"task": {"type": "worker", "index": 0}}), "needs a `cluster`"),
                (json.dumps({"cluster": cluster, "task": {"type": "chief", "index": 0}}),
                 "must name a task type of its cluster"),
                (json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 2}}),
                 r"must be in \[0, 2\) for the 2 'worker'")):
            with self.assertRaisesRegex(ValueError, message + ".*Received: TF_CONFIG="):
                strategy_lib.check_tf_config(tf_config)
        strategy_lib.check_tf_config(
            json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
        previous = os.environ.get("TF_CONFIG")
        self.addCleanup(lambda: os.environ.pop("TF_CONFIG", None) if previous is None
                        else os.environ.__setitem__("TF_CONFIG", previous))
        os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster,
                                              "task": {"type": "worker", "index": 5}})
        with self.assertRaisesRegex(ValueError, "task` index"):
            strategy_lib.get_strategy("multi_worker")

    def test_extra_callbacks_from_gin(self):
        # EarlyStopping bound by gin: no epoch improves the loss by 1e9, so the
        # run stops after its second epoch; the checkpoint before it is kept.
        result = cli.run_with_gin(
            training.train, os.path.join(self.get_temp_dir(), "early"), [TOY_GIN],
            ["train.epochs = 5", "train.deterministic = False", "train.verbose = 0",
             "train.extra_callbacks = [@keras.callbacks.EarlyStopping()]",
             "keras.callbacks.EarlyStopping.monitor = 'loss'",
             "keras.callbacks.EarlyStopping.min_delta = 1e9"])
        self.assertEqual([r["epoch"] for r in result.history], [1, 2])

    def test_bad_timeouts_and_callbacks_are_refused(self):
        for arg, value in (("startup_timeout", 0), ("heartbeat_timeout", -1.0),
                           ("startup_timeout", True), ("heartbeat_timeout", "10")):
            with self.assertRaisesRegex(ValueError, f"Received: {arg}={value!r}"):
                strategy_lib.get_strategy("default", **{arg: value})
        with self.assertRaisesRegex(ValueError, "with parentheses.*Received: extra_callbacks="):
            training.train(os.path.join(self.get_temp_dir(), "bad_callbacks"),
                           model_fn=lambda: None, data_fn=lambda **_: None,
                           extra_callbacks=[lambda: None])

    def test_worker_output_goes_to_a_temporary_directory(self):
        cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
        chief, other = (json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
                        for i in range(2))
        path = os.path.join(self.get_temp_dir(), "run", "results.json")
        self.assertTrue(run_directory.is_chief_process(chief))
        self.assertFalse(run_directory.is_chief_process(other))
        self.assertIsNone(run_directory.worker_output_root(chief))
        root = run_directory.worker_output_root(other)
        self.assertStartsWith(root, os.path.join(tempfile.gettempdir(), "tf_drpm-worker1-"))
        # Same task of another cluster: another directory.
        self.assertNotEqual(root, run_directory.worker_output_root(json.dumps(
            {"cluster": {"worker": cluster["worker"] + ["127.0.0.1:3"]},
             "task": {"type": "worker", "index": 1}})))
        previous = os.environ.get("TF_CONFIG")
        self.addCleanup(lambda: os.environ.pop("TF_CONFIG", None) if previous is None
                        else os.environ.__setitem__("TF_CONFIG", previous))
        os.environ["TF_CONFIG"] = chief
        self.assertEqual(run_directory.output_path(path), path)
        os.environ["TF_CONFIG"] = other
        locked_dir = os.path.join(self.get_temp_dir(), "not_locked_by_worker1")
        with run_directory.RunLock(locked_dir):  # a non-chief worker takes no lock
            self.assertFalse(os.path.exists(os.path.join(locked_dir, run_directory.LOCK_FILE)))
        stale = os.path.join(root, "stale.txt")  # left by a killed predecessor
        os.makedirs(root, exist_ok=True)
        with open(stale, "w") as f:
            f.write("x")
        with run_directory.WorkerOutput() as entered:
            self.assertEqual(entered, root)
            self.assertFalse(os.path.exists(stale))
            with run_directory.WorkerOutput():  # re-entrant: the CLI, then train
                training.write_json(path, {"a": 1})
            mirrored = os.path.join(root, os.path.abspath(path).lstrip(os.sep))
            self.assertEqual(run_directory.output_path(path), mirrored)
            with open(mirrored) as f:
                self.assertEqual(json.load(f), {"a": 1})
            self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(root))

    def test_default_and_one_device_strategies(self):
        self.assertEqual(strategy_lib.get_strategy("default").num_replicas_in_sync, 1)
        one = strategy_lib.get_strategy("one_device", devices=["/cpu:0"])
        self.assertIsInstance(one, tf.distribute.OneDeviceStrategy)

    def test_markdown_table(self):
        table = training.format_markdown_table(
            {"DRPM-VC": {"acc": 0.5, "nmi": 0.25}, "GMM": {"acc": 0.125}})
        self.assertEqual(table, "| method | acc | nmi |\n|---|---|---|\n"
                         "| DRPM-VC | 0.5000 | 0.2500 |\n| GMM | 0.1250 |  |\n")


_MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    from trainers.core import strategy as strategy_lib
    devices = strategy_lib.create_logical_cpu_devices(2)
    import keras
    import numpy as np
    import tensorflow as tf
    from trainers.toy import ToyRegressor

    rng = np.random.RandomState(0)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.normal(size=(8,)).astype(np.float32)
    kernel = rng.normal(size=(3, 1)).astype(np.float32)
    bias = np.array([0.3], np.float32)

    def make_model():
        model = ToyRegressor()
        model.build((None, 3))
        model.dense.kernel.assign(kernel)
        model.dense.bias.assign(bias)
        return model

    from tf_drpm.models import scale_loss

    def replica_grads(model, batch):
        # Per-example losses and their replica mean: the same share.
        with tf.GradientTape() as tape:
            per_example = model.compute_losses(batch)["loss"]
            loss = scale_loss(per_example)
        mean_share = scale_loss(tf.reduce_mean(per_example))
        return loss, mean_share, tape.gradient(loss, model.trainable_variables)

    out = {"devices": devices}
    for name in ("default", "mirrored"):
        strategy = strategy_lib.get_strategy(
            name, devices=devices if name == "mirrored" else None)
        with strategy.scope():
            model = make_model()
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
        dataset = tf.data.Dataset.from_tensors((x, y))
        batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
        loss, mean_share, grads = strategy.run(replica_grads, args=(model, batch))
        loss = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
        mean_share = strategy.reduce(tf.distribute.ReduceOp.SUM, mean_share, axis=None)
        grads = [strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in grads]
        history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        out[name] = {
            "replicas": strategy.num_replicas_in_sync,
            "loss": float(loss),
            "mean_share": float(mean_share),
            "grads": [np.asarray(g).tolist() for g in grads],
            "fit_loss": history.history["loss"][0],
            "kernel_after_step": np.asarray(model.dense.kernel).tolist(),
        }
    # The whole trainer under each strategy (gin string), same data and seed.
    import sys, tempfile
    from trainers import toy
    from trainers.core import cli, training
    for name in ("default", "mirrored"):
        result = cli.run_with_gin(
            training.train, tempfile.mkdtemp(), [sys.argv[1]],
            ["train.epochs = 2", "train.verbose = 0", "train.deterministic = False",
             "toy_model.input_noise = 0.0", f"train.strategy = '{name}'",
             "get_strategy.devices = " + repr(devices if name == "mirrored" else None)])
        out[name]["train_losses"] = [r["logs"]["loss"] for r in result.history]
        out[name]["train_replicas"] = result.strategy.num_replicas_in_sync
        out[name]["train_mse"] = result.results["mse"]
    print("RESULT" + json.dumps(out))
""")


class MirroredStrategyTest(tf.test.TestCase):

    def test_mirrored_two_cpus_matches_default(self):
        out = subprocess_result.run_result_script(self, _MIRRORED_SCRIPT, TOY_GIN)
        self.assertLen(out["devices"], 2)
        default, mirrored = out["default"], out["mirrored"]
        self.assertEqual(default["replicas"], 1)
        self.assertEqual(mirrored["replicas"], 2)
        # Exact global-batch quantities, computed independently in NumPy.
        rng = np.random.RandomState(0)
        x = rng.normal(size=(8, 3)).astype(np.float64)
        y = rng.normal(size=(8,)).astype(np.float64)
        kernel = rng.normal(size=(3, 1)).astype(np.float64)
        residual = x @ kernel[:, 0] + 0.3 - y
        expected_loss = np.mean(residual ** 2)
        expected_kernel_grad = 2 * x.T @ residual / 8
        for run in (default, mirrored):
            self.assertAllClose(run["loss"], expected_loss, rtol=1e-5)
            self.assertAllClose(run["mean_share"], expected_loss, rtol=1e-5)
            self.assertAllClose(np.asarray(run["grads"][0])[:, 0], expected_kernel_grad,
                                rtol=1e-5, atol=1e-6)
            self.assertAllClose(run["grads"][1], [2 * residual.mean()], rtol=1e-5, atol=1e-6)
            self.assertAllClose(run["fit_loss"], expected_loss, rtol=1e-5)
        self.assertAllClose(default["grads"][0], mirrored["grads"][0], rtol=1e-6, atol=1e-7)
        self.assertAllClose(default["kernel_after_step"], mirrored["kernel_after_step"],
                            rtol=1e-6, atol=1e-7)
        self.assertAllClose(mirrored["kernel_after_step"],
                            kernel - 0.1 * expected_kernel_grad[:, None], rtol=1e-5)
        # `train(strategy='mirrored')` on two replicas follows the default run.
        self.assertEqual(mirrored["train_replicas"], 2)
        self.assertLen(mirrored["train_losses"], 2)
        self.assertAllClose(mirrored["train_losses"], default["train_losses"], rtol=1e-5)
        self.assertAllClose(mirrored["train_mse"], default["train_mse"], rtol=1e-5)


class MultiWorkerTrainTest(tf.test.TestCase):
    """`train.strategy = 'multi_worker'` with two worker processes on 127.0.0.1."""

    # No input noise: the toy model's per-example loss makes each epoch's loss
    # the single process's.
    PARAMS = ["train.epochs = 3", "train.verbose = 0", "toy_model.input_noise = 0.0",
              "get_strategy.startup_timeout = 120.0", "get_strategy.heartbeat_timeout = 10.0"]
    MULTI_WORKER = ["train.strategy = 'multi_worker'"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = tempfile.mkdtemp()
        # The uninterrupted two-worker run, the reference of both tests.
        cls.workers_dir = os.path.join(cls.base, "workers")
        argv = _toy_command(cls.workers_dir, *cls.PARAMS, *cls.MULTI_WORKER)[3:]
        run_workers(argv, num_workers=2, timeout=240, env=_env(), cwd=REPO_ROOT,
                    module="trainers.toy")
        with open(os.path.join(cls.workers_dir, "results.json")) as f:
            cls.workers = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.base, ignore_errors=True)
        super().tearDownClass()

    def test_two_worker_processes_train_like_one(self):
        single_dir = os.path.join(self.get_temp_dir(), "single")
        proc = subprocess.run(_toy_command(single_dir, *self.PARAMS), cwd=REPO_ROOT,
                              env=_env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        with open(os.path.join(single_dir, "results.json")) as f:
            single = json.load(f)
        workers = self.workers
        self.assertEqual(single["num_replicas"], 1)
        self.assertEqual(workers["num_replicas"], 2)
        self.assertEqual(workers["strategy"], "multi_worker")
        self.assertEqual(workers["epochs"], 3)
        self.assertAllClose([e["logs"]["loss"] for e in workers["history"]],
                            [e["logs"]["loss"] for e in single["history"]], rtol=1e-5)
        self.assertAllClose(workers["results"]["mse"], single["results"]["mse"], rtol=1e-5)

    def test_a_worker_killed_mid_epoch_resumes_exactly(self):
        # Worker 1 stops after batch 3 of epoch 2 (a marker file says so) and
        # is killed with SIGKILL from here while the chief waits for it in a
        # collective op. The chief must stop by itself (heartbeat time-out)
        # with a message saying how to resume; the same command on both
        # workers then resumes after epoch 1 and ends with the uninterrupted
        # run's weights.
        model_dir = os.path.join(self.get_temp_dir(), "killed")
        marker = os.path.join(self.get_temp_dir(), "worker1.pid")
        argv = _toy_command(model_dir, *self.PARAMS, *self.MULTI_WORKER,
                            *fault_injection.fault_params(marker, epoch=2, batch=3,
                                                          task_index=1, action="pause"))[3:]
        ports = free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        tf_configs = [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
                      for i in range(2)]
        processes, logs = [], []
        for tf_config in tf_configs:
            env = _env()
            env["TF_CONFIG"] = tf_config
            log = tempfile.TemporaryFile(mode="w+")
            self.addCleanup(log.close)
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "trainers.toy", *argv], cwd=REPO_ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=log))
            self.addCleanup(lambda p=processes[-1]: p.poll() is None and p.kill())

        def stderr(index):
            logs[index].seek(0)
            return logs[index].read()[-3000:]

        deadline = time.time() + 240
        while not os.path.exists(marker):
            self.assertTrue(all(p.poll() is None for p in processes),
                            "a worker ended before the fault:\n" + stderr(0) + stderr(1))
            self.assertLess(time.time(), deadline, "worker 1 never reached the fault")
            time.sleep(0.1)
        with open(marker) as f:
            self.assertEqual(int(f.read()), processes[1].pid)
        # Mid-epoch 2: the chief has committed epoch 1 only; worker 1 writes its
        # checkpoints under its own temporary directory, not into model_dir.
        self.assertEqual(training.read_checkpoint_state(model_dir)["epoch"], 1)
        worker_root = run_directory.worker_output_root(tf_configs[1])
        worker_checkpoints = os.path.join(worker_root, os.path.abspath(model_dir).lstrip(os.sep),
                                          training.CHECKPOINT_SUBDIR)
        self.assertIn("epoch-0001.weights.h5", os.listdir(worker_checkpoints))
        self.assertIsNone(run_directory.worker_output_root(tf_configs[0]))

        killed_at = time.time()
        os.kill(processes[1].pid, signal.SIGKILL)
        self.assertEqual(processes[1].wait(timeout=30), -signal.SIGKILL)
        self.assertEqual(processes[0].wait(timeout=120), 1, stderr(0))
        self.assertLess(time.time() - killed_at, 90)
        chief_stderr = stderr(0)
        self.assertIn("ERROR: A worker of the cluster failed during training", chief_stderr)
        self.assertIn("holds 1 finished epoch(s); restart every worker with the same command",
                      chief_stderr)
        self.assertEqual(training.read_checkpoint_state(model_dir)["epoch"], 1)
        self.assertFalse(os.path.exists(os.path.join(model_dir, "results.json")))
        self.assertTrue(os.path.isdir(worker_root))  # a SIGKILL cleans nothing up

        # The same command, the same TF_CONFIG (the marker disarms the fault).
        run_workers(argv, num_workers=2, timeout=240, env=_env(), cwd=REPO_ROOT,
                    module="trainers.toy", ports=ports)
        with open(os.path.join(model_dir, "results.json")) as f:
            resumed = json.load(f)
        self.assertEqual(resumed["initial_epoch"], 1)
        self.assertEqual([r["epoch"] for r in resumed["history"]], [1, 2, 3])
        self.assertEqual([r["step"] for r in resumed["history"]],
                         [r["step"] for r in self.workers["history"]])
        self.assertAllClose([r["logs"]["loss"] for r in resumed["history"]],
                            [r["logs"]["loss"] for r in self.workers["history"]],
                            rtol=1e-6, atol=0)
        reference_weights = resume_util.final_weights(self.workers_dir)
        resumed_weights = resume_util.final_weights(model_dir)
        self.assertEqual(sorted(resumed_weights), sorted(reference_weights))
        for name, value in reference_weights.items():
            self.assertAllEqual(resumed_weights[name], value, msg=name)
        self.assertEqual(resumed["results"], self.workers["results"])
        self.assertFalse(os.path.exists(worker_root))  # removed at the end of the run


class KillAndResumeTest(tf.test.TestCase):

    def test_killed_run_resumes_with_finished_epochs_intact(self):
        epochs, steps = 4, 8
        killed_dir = os.path.join(self.get_temp_dir(), "killed")
        reference_dir = os.path.join(self.get_temp_dir(), "reference")
        params = [f"train.epochs = {epochs}", "train.verbose = 0"]
        # The run to kill sleeps 1 s at the start of epochs 2.. (a kill window).
        victim = subprocess.Popen(
            _toy_command(killed_dir, *params, "toy_callbacks.epoch_sleep_seconds = 1.0"),
            cwd=REPO_ROOT, env=_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.time() + 240
        state = None
        while time.time() < deadline and victim.poll() is None:
            state = training.read_checkpoint_state(killed_dir)
            if state is not None and state["epoch"] >= 1:
                break
            time.sleep(0.05)
        self.assertIsNone(victim.poll(), "the run ended before it could be killed")
        self.assertIsNotNone(state, "no epoch finished in time")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        self.assertEqual(victim.returncode, -signal.SIGKILL)
        killed_state = training.read_checkpoint_state(killed_dir)
        finished = killed_state["epoch"]
        self.assertBetween(finished, 1, epochs - 1)
        self.assertFalse(os.path.exists(os.path.join(killed_dir, "results.json")))

        # Uninterrupted reference run, in-process (op determinism stays off in
        # this process; on a CPU this model's results do not depend on it).
        reference = cli.run_with_gin(training.train, reference_dir, [TOY_GIN],
                                     params + ["train.deterministic = False"])
        # Without the kill window's sleep: a config change, allowed explicitly.
        resumed = subprocess.run(_toy_command(killed_dir, *params) + ["--allow_config_change"],
                                 cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                                 timeout=300)
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])

        with open(os.path.join(killed_dir, "results.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["initial_epoch"], finished)
        self.assertEqual(summary["step"], epochs * steps)
        history = summary["history"]
        self.assertEqual([r["epoch"] for r in history], list(range(1, epochs + 1)))
        self.assertEqual([r["step"] for r in history],
                         [steps * e for e in range(1, epochs + 1)])
        # The epochs finished before the kill are kept as they were.
        self.assertEqual(history[:finished], killed_state["history"])
        log = _read_jsonl(os.path.join(killed_dir, "epochs.jsonl"))
        self.assertEqual([r["epoch"] for r in log], list(range(1, epochs + 1)))
        # Same batches, optimizer state and random streams: the resumed run
        # reproduces the uninterrupted one.
        self.assertAllClose([r["logs"]["loss"] for r in history],
                            [r["logs"]["loss"] for r in reference.history], rtol=1e-6)
        self.assertAllClose(summary["results"], reference.results, rtol=1e-6)



def _unwritable_dir(test):
    """A path that cannot be created even by root (sysfs), or skips the test."""
    path = "/sys/tf_drpm_unwritable"
    try:
        os.makedirs(path)
    except OSError:
        return path
    os.rmdir(path)
    test.skipTest("no unwritable location (sysfs) on this machine")
    return None


class CliErrorsTest(tf.test.TestCase):
    """Every failure a user can cause ends in one `ERROR:` line, exit status 1
    and no traceback (`--verbose` gives it), before anything is trained."""

    def _fails(self, command, expected, env=None):
        proc = subprocess.run(command, cwd=REPO_ROOT, env=dict(_env(), **(env or {})),
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 1, proc.stderr[-3000:])
        self.assertNotIn("Traceback", proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
        self.assertLen(errors, 1, proc.stderr[-3000:])
        self.assertRegex(errors[0], expected)
        return proc

    def test_user_errors_of_a_family_entry_point(self):
        temp = self.get_temp_dir()
        model_dir = os.path.join(temp, "run")
        regular_file = os.path.join(temp, "a_file")
        with open(regular_file, "w") as f:
            f.write("not a directory")
        bad_syntax = os.path.join(temp, "bad.gin")
        with open(bad_syntax, "w") as f:
            f.write("train.epochs = = 3\n")
        unterminated = os.path.join(temp, "unterminated.gin")
        with open(unterminated, "w") as f:
            f.write("train.epochs = (\n")
        toy_module = [sys.executable, "-m", "trainers.toy"]
        cases = [
            ("unknown configurable", _toy_command(model_dir, "trian.epochs = 2"),
             r"No configurable matching 'trian'.*Fix the configurable's name", None),
            ("unknown parameter", _toy_command(model_dir, "train.epoch = 2"),
             r"'train' doesn't have a parameter named 'epoch'.*Fix the parameter's name",
             None),
            ("missing gin file", toy_module + ["--gin_file", "no/such.gin", "--model_dir", model_dir],
             r"Cannot read a gin file: Unable to open file: no/such.gin.*Fix the --gin_file",
             None),
            ("gin syntax", toy_module + ["--gin_file", bad_syntax, "--model_dir", model_dir],
             r"Invalid gin config \(SyntaxError\).*bad.gin, line 1.*Fix the syntax", None),
            ("gin unterminated", toy_module + ["--gin_file", unterminated, "--model_dir", model_dir],
             r"Invalid gin config \(TokenError\).*Fix the syntax", None),
            ("missing model_dir", toy_module + ["--gin_file", TOY_GIN],
             r"--model_dir is required.*Received: --model_dir=None", None),
            ("model_dir is a file", _toy_command(regular_file),
             r"is a regular file, not a directory.*Received: --model_dir=", None),
            ("unwritable model_dir", _toy_command(os.path.join(_unwritable_dir(self), "run")),
             r"cannot be written \(.*\)\. Pass a directory you can write", None),
            ("bad TF_CONFIG", _toy_command(model_dir),
             r"`TF_CONFIG` is not JSON.*Fix TF_CONFIG.*or unset it", {"TF_CONFIG": "{worker"}),
            ("bad setting", _toy_command(os.path.join(temp, "epochs0"), "train.epochs = 0"),
             r"`epochs` must be an integer >= 1. Received: epochs=0", None),
            ("unknown strategy", _toy_command(os.path.join(temp, "gpus"),
                                              "train.strategy = 'gpus'"),
             r"`train.strategy` must be one of .*Received: name='gpus'", None),
            ("unexpected argument", _toy_command(model_dir) + ["extra"],
             r"Unexpected arguments: \['extra'\]", None),
        ]
        for name, command, expected, env in cases:
            with self.subTest(name):
                self._fails(command, expected, env)
        self.assertFalse(os.path.exists(model_dir))  # nothing started
        for name in ("epochs0", "gpus"):  # checked when `train` is called: no epoch
            self.assertFalse(os.path.exists(os.path.join(temp, name, "epochs.jsonl")))
        # --verbose re-raises: the same error with its traceback.
        proc = subprocess.run(_toy_command(model_dir, "trian.epochs = 2") + ["--verbose"],
                              cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                              timeout=300)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("Traceback", proc.stderr)
        self.assertIn("CommandError: Invalid gin config", proc.stderr)

    def test_user_errors_of_a_sweep_entry_point(self):
        # `trainers.mtl.sweep` runs its own absl main; importing the CLI module
        # installs the handler that turns its user errors into one ERROR line.
        mtl_gin = os.path.join(REPO_ROOT, "gin", "tests", "mtl_smoke.gin")
        sweep = [sys.executable, "-m", "trainers.mtl.sweep", "--gin_file", mtl_gin,
                 "--seeds", "0", "--methods", "drpm", "--noise_ratios", "0.0"]
        output_dir = os.path.join(self.get_temp_dir(), "sweep")
        self._fails(sweep + ["--output_dir", os.path.join(_unwritable_dir(self), "sweep")],
                    r"Cannot write '/sys/.*Pass an output directory you can write")
        self._fails(sweep + ["--output_dir", output_dir, "--gin_param", "trian.x = 1"],
                    r"No configurable matching 'trian'")
        self._fails(sweep, r"--output_dir is required")
        allocation = [sys.executable, "-m", "trainers.mtl.allocation", "--output_dir",
                      output_dir]
        self._fails(allocation, r"--gin_file is required")
        self._fails(allocation[:3] + ["--gin_file", mtl_gin], r"--output_dir is required")


class RunDirectoryGuardsTest(tf.test.TestCase):
    """The CLI guards: --gin_file required, config changes, lock, corrupt state."""

    _PARAMS = ["train.deterministic = False", "train.verbose = 0", "train.tensorboard = False"]

    def _toy(self, model_dir, *params, **kwargs):
        return cli.run_with_gin(training.train, model_dir, [TOY_GIN],
                                self._PARAMS + list(params), **kwargs)

    def test_missing_gin_file_lists_the_configs(self):
        model_dir = os.path.join(self.get_temp_dir(), "no_gin")
        proc = subprocess.run(
            [sys.executable, "-m", "trainers.toy", "--model_dir", model_dir], cwd=REPO_ROOT,
            env=_env(), capture_output=True, text=True, timeout=300)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--gin_file is required", proc.stderr)
        for config in ("gin/tests/toy_smoke.gin", "gin/vc/fmnist_quick.gin",
                       "gin/mtl/multi_fashion.gin", "gin/weak/quick.gin"):
            self.assertIn(config, proc.stderr)
        self.assertFalse(os.path.exists(model_dir))  # nothing started

    def test_changed_config_is_refused_and_the_bindings_named(self):
        model_dir = os.path.join(self.get_temp_dir(), "changed")
        self._toy(model_dir, "train.epochs = 1")
        with self.assertRaises(run_directory.RunDirectoryError) as caught:
            self._toy(model_dir, "train.epochs = 2", "SGD.learning_rate = 0.1")
        message = str(caught.exception)
        self.assertIn("train.epochs: 1 -> 2", message)
        self.assertIn("SGD.learning_rate: 0.05 -> 0.1", message)
        self.assertIn("--allow_config_change", message)
        self.assertNotIn("train.seed", message)  # unchanged bindings are not listed
        self.assertLen(_read_jsonl(os.path.join(model_dir, "epochs.jsonl")), 1)
        # The same config resumes; an allowed change resumes and keeps the old config.
        self.assertLen(self._toy(model_dir, "train.epochs = 1").history, 1)
        result = self._toy(model_dir, "train.epochs = 2", allow_config_change=True)
        self.assertEqual((result.initial_epoch, len(result.history)), (1, 2))
        kept = [n for n in os.listdir(model_dir) if n.startswith("config.before-")]
        self.assertLen(kept, 1)
        with open(os.path.join(model_dir, kept[0])) as f:
            self.assertIn("train.epochs = 1", f.read())
        # Through the CLI: an error message, not a traceback.
        proc = subprocess.run(_toy_command(model_dir, "train.epochs = 3"), cwd=REPO_ROOT,
                              env=_env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ERROR: The run directory", proc.stderr)
        self.assertIn("train.epochs: 2 -> 3", proc.stderr)

    def test_second_writer_is_stopped_and_a_stale_lock_taken_over(self):
        model_dir = os.path.join(self.get_temp_dir(), "locked")
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import time
                from trainers.core.run_directory import RunLock
                RunLock({model_dir!r}).__enter__()
                print("LOCKED", flush=True)
                time.sleep(300)
            """)], cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.kill)
        self.assertEqual(holder.stdout.readline().strip(), "LOCKED")
        for attempt in (lambda: self._toy(model_dir),
                        lambda: training.train(model_dir, model_fn=None, data_fn=None)):
            with self.assertRaisesRegex(run_directory.RunDirectoryError,
                                        f'in use by another process.*"pid": {holder.pid}'):
                attempt()
        self.assertFalse(os.path.exists(os.path.join(model_dir, "epochs.jsonl")))
        # kill -9 leaves the lock file behind; the next run takes it over.
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        with open(os.path.join(model_dir, run_directory.LOCK_FILE)) as f:
            self.assertIn(f'"pid": {holder.pid}', f.read())
        self.assertLen(self._toy(model_dir, "train.epochs = 1").history, 1)
        with open(os.path.join(model_dir, run_directory.LOCK_FILE)) as f:
            self.assertIn(f'"pid": {os.getpid()}', f.read())

    def test_weak_sub_runs_under_one_guarded_model_dir(self):
        # The weak family trains several runs in sub-directories of one
        # model_dir: the top level is locked and its config checked; each
        # sub-run locks its own directory inside the same process.
        from trainers.weak import driver  # pylint: disable=g-import-not-at-top
        model_dir = os.path.join(self.get_temp_dir(), "weak")
        weak_gin = os.path.join(REPO_ROOT, "gin", "tests", "weak_smoke.gin")
        params = ["weak_experiment.methods = ('label',)"]
        cli.run_with_gin(driver.weak_experiment, model_dir, [weak_gin], params)
        run_dir = os.path.join(model_dir, "label", "ns3_seed0")
        for directory in (model_dir, run_dir):
            self.assertTrue(os.path.exists(os.path.join(directory, run_directory.LOCK_FILE)))
        self.assertTrue(os.path.exists(os.path.join(model_dir, "config.gin")))
        cli.run_with_gin(driver.weak_experiment, model_dir, [weak_gin], params)  # same config
        with self.assertRaisesRegex(run_directory.RunDirectoryError,
                                    "weak_data.batch_size: 2 -> 4"):
            cli.run_with_gin(driver.weak_experiment, model_dir, [weak_gin],
                             params + ["weak_data.batch_size = 4"])

    def test_corrupt_state_names_the_file_and_how_to_restart(self):
        model_dir = os.path.join(self.get_temp_dir(), "corrupt_state")
        self._toy(model_dir, "train.epochs = 1")
        state_path = os.path.join(model_dir, "checkpoints", "state.json")
        with open(state_path) as f:
            text = f.read()
        with open(state_path, "w") as f:
            f.write(text[:len(text) // 2])
        with self.assertRaisesRegex(run_directory.RunDirectoryError,
                                    f"{state_path} is corrupt.*To restart the run from epoch 0, "
                                    f"delete {state_path}"):
            self._toy(model_dir, "train.epochs = 1")
        # Following the advice restarts cleanly: no stale epochs in the log.
        os.remove(state_path)
        result = self._toy(model_dir, "train.epochs = 1")
        self.assertEqual(result.initial_epoch, 0)
        self.assertLen(_read_jsonl(os.path.join(model_dir, "epochs.jsonl")), 1)

    def test_corrupt_checkpoint_names_the_file(self):
        model_dir = os.path.join(self.get_temp_dir(), "corrupt_weights")
        self._toy(model_dir, "train.epochs = 1")
        weights = os.path.join(model_dir, "checkpoints", "epoch-0001.weights.h5")
        with open(weights, "rb") as f:
            data = f.read()
        with open(weights, "wb") as f:
            f.write(data[:len(data) // 3])
        with self.assertRaisesRegex(run_directory.RunDirectoryError,
                                    f"Cannot load the checkpoint {weights}.*To restart"):
            self._toy(model_dir, "train.epochs = 2", allow_config_change=True)


if __name__ == "__main__":
    tf.test.main()
