"""End-to-end smoke test of `trainers.vc` on generated data, pretraining cache, refit."""

import json
import os
import textwrap

import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tests.trainers import resume_util
from tf_drpm.clustering import DRPMVC
from tf_drpm.clustering import MLPAutoencoder
from tf_drpm.clustering import PriorRefit
from tf_drpm.clustering import bar_images
from tf_drpm.clustering import encode_means
from trainers.core import cli
from trainers.core import run_directory
from trainers.core.workers import free_ports
from trainers.core.workers import run_workers
from trainers.vc import driver
from trainers.vc import pretraining
from trainers.vc.results import METHODS

_REPO = subprocess_result.REPO_ROOT


class VCTrainerTest(tf.test.TestCase):
    def test_end_to_end_smoke_run(self):
        tmp = self.get_temp_dir()
        model_dir = os.path.join(tmp, "run")
        cache = os.path.join(tmp, "cache")
        results = cli.run_with_gin(
            driver.vc_experiment,
            model_dir,
            gin_files=[os.path.join(_REPO, "gin", "tests", "vc_smoke.gin")],
            gin_params=[f"vc_experiment.cache_dir = '{cache}'"],
        )
        self.assertEqual(set(results), set(METHODS))
        for scores in results.values():
            for key in ("acc", "nmi", "ari"):
                self.assertTrue(np.isfinite(scores[key]))
            self.assertBetween(scores["acc"], 0.0, 1.0)
        with open(os.path.join(model_dir, "results.md")) as f:
            table = f.read()
        for name in ("GMM (pixels)", "Latent GMM", "VaDE", "DRPM-VC",
                     "(c) nearest prior, no DRPM"):
            self.assertIn(name, table)
        self.assertIn("the gap between the DRPM-VC and (c) rows is what the DRPM adds", table)
        for picture in ("partition_sample.png", "prior_samples.png"):
            path = os.path.join(model_dir, picture)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(model_dir, "drpm_vc", "checkpoints", "state.json")) as f:
            state = json.load(f)
        self.assertEqual(state["epoch"], 2)  # vc_smoke.gin: drpm_vc/train.epochs = 2
        self.assertEqual(state["step"], 2 * (128 // 32))
        self.assertTrue(os.path.exists(os.path.join(model_dir, "vade", "results.json")))
        # vc_callbacks.evaluate_every_epochs = 1: test scores of every epoch in the epoch log,
        # the last one equal to the final evaluation.
        # The ablation inherits DRPM-VC's settings (scope drpm_vc/nearest_prior).
        for method, epochs in (("drpm_vc", 2), ("vade", 1), ("nearest_prior", 2)):
            with open(os.path.join(model_dir, method, "epochs.jsonl")) as f:
                records = [json.loads(line) for line in f]
            self.assertEqual([r["epoch"] for r in records], list(range(1, epochs + 1)))
            for key in ("acc", "nmi", "ari"):
                self.assertAllClose(
                    records[-1]["logs"][f"test_{key}"], results[method][key]
                )
        cached = [
            d
            for d in os.listdir(cache)
            if os.path.exists(os.path.join(cache, d, "autoencoder.weights.h5"))
        ]
        self.assertLen(cached, 1)

    def test_pretraining_cache_key(self):
        tmp = self.get_temp_dir()
        images, _, _, _ = bar_images(64, 8, num_classes=3)
        config = {
            "dataset": "generated",
            "latent_dim": 2,
            "num_clusters": 3,
            "kind": "reconstruction",
            "epochs": 1,
            "batch_size": 32,
            "learning_rate": 1e-3,
            "seed": 0,
            "head_units": 4,
            "heads_input": "latent",
            "reconstruction_weight": 1.0,
        }
        ae1, path1, cached1 = pretraining.pretrain_autoencoder(images, tmp, config)
        ae2, path2, cached2 = pretraining.pretrain_autoencoder(images, tmp, config)
        self.assertFalse(cached1)
        self.assertTrue(cached2)
        self.assertEqual(path1, path2)
        for w1, w2 in zip(ae1.weights, ae2.weights):
            self.assertAllEqual(w1.numpy(), w2.numpy())
        _, path3, cached3 = pretraining.pretrain_autoencoder(
            images, tmp, dict(config, learning_rate=2e-3)
        )
        self.assertNotEqual(path3, path1)
        self.assertFalse(cached3)

    def test_prior_refit_callback_assigns_variables(self):
        ae = MLPAutoencoder(latent_dim=2, trunk_units=(8,))
        ae.build()
        model = DRPMVC(ae, num_clusters=3)
        model.build()
        means_variable = model.prior.means
        before = means_variable.numpy().copy()
        images, _, _, _ = bar_images(60, 4, num_classes=3)
        callback = PriorRefit(images, every_epochs=2, seed=0)
        callback.set_model(model)
        callback.on_epoch_end(0)  # epoch 1: no refit
        self.assertAllEqual(model.prior.means.numpy(), before)
        logs = {}
        callback.on_epoch_end(1, logs)  # epoch 2: refit
        self.assertIs(model.prior.means, means_variable)
        self.assertNotAllClose(model.prior.means.numpy(), before)
        self.assertEqual(logs["prior_refit"], 1.0)
        # The refitted means are GMM means of the posterior means.
        latent = encode_means(ae, images)
        self.assertAllInRange(
            model.prior.means.numpy()[:, 0],
            latent[:, 0].min() - 1e-3,
            latent[:, 0].max() + 1e-3,
        )

    def test_protocol_configs_parse(self):
        import gin  # pylint: disable=g-import-not-at-top

        for name in ("fmnist.gin", "mnist.gin", "fmnist_quick.gin"):
            try:
                cli.parse_gin([os.path.join(_REPO, "gin", "vc", name)], finalize=False)
                for method in ("vade", "drpm_vc"):
                    with gin.config_scope(method):
                        self.assertGreater(gin.get_bindings("train")["epochs"], 0)
                        self.assertIn(gin.get_bindings("vc_optimizer")["name"],
                                      ("adam", "adamw"))
                self.assertIn(gin.query_parameter("vc_model.kl"), ("bound", "exact"))
            finally:
                gin.clear_config()

    def test_bad_method(self):
        with self.assertRaisesRegex(ValueError, "methods"):
            driver.vc_experiment(self.get_temp_dir(), methods=("kmeans",))



# One process: logical CPUs must be configured before TensorFlow runs an op.
_MIRRORED_SMOKE_SCRIPT = textwrap.dedent("""
    import json, os, sys, tempfile
    from trainers.core import strategy as strategy_lib
    devices = strategy_lib.create_logical_cpu_devices(2)
    from trainers.core import cli
    from trainers.vc import driver
    tmp = tempfile.mkdtemp()
    model_dir = os.path.join(tmp, "run")
    results = cli.run_with_gin(
        driver.vc_experiment, model_dir, gin_files=[sys.argv[1]],
        gin_params=[f"vc_experiment.cache_dir = '{tmp}/cache'",
                    "train.strategy = 'mirrored'", f"get_strategy.devices = {devices!r}"])
    with open(os.path.join(model_dir, "drpm_vc", "checkpoints", "state.json")) as f:
        state = json.load(f)
    print("RESULT" + json.dumps({"results": results, "epoch": state["epoch"]}))
""")


class VCMirroredSmokeTest(tf.test.TestCase):

    def test_smoke_run_on_two_mirrored_cpus(self):
        # Every stage under MirroredStrategy; DRPM-VC partitions the global batch
        # of 32 (16 per replica). Equality with one device: vc/test_distributed_step.py.
        out = subprocess_result.run_result_script(
            self, _MIRRORED_SMOKE_SCRIPT, os.path.join(_REPO, "gin", "tests", "vc_smoke.gin"))
        self.assertEqual(set(out["results"]), set(METHODS))
        for scores in out["results"].values():
            self.assertBetween(scores["acc"], 0.0, 1.0)
        self.assertEqual(out["epoch"], 2)


class VCMultiWorkerSmokeTest(tf.test.TestCase):

    def test_smoke_run_on_two_worker_processes(self):
        # Every stage (contrastive pretraining, GMMs, VaDE, DRPM-VC, pictures)
        # with `train.strategy = 'multi_worker'` on two processes: the strategy
        # starts before the family's first op, DRPM-VC sees a static replica
        # batch, and only the chief writes the run directory and the cache.
        tmp = self.get_temp_dir()
        model_dir, cache = os.path.join(tmp, "run"), os.path.join(tmp, "cache")
        ports = free_ports(2)
        run_workers(
            ["--gin_file", os.path.join(_REPO, "gin", "tests", "vc_smoke.gin"),
             "--model_dir", model_dir, "--gin_param", f"vc_experiment.cache_dir = '{cache}'",
             "--gin_param", "train.strategy = 'multi_worker'"],
            num_workers=2, timeout=300, env=subprocess_result.subprocess_env(), cwd=_REPO,
            module="trainers.vc", ports=ports)
        with open(os.path.join(model_dir, "results.md")) as f:
            table = f.read()
        for name in ("GMM (pixels)", "Latent GMM", "VaDE", "DRPM-VC",
                     "(c) nearest prior, no DRPM"):
            self.assertIn(name, table)
        self.assertIn("the gap between the DRPM-VC and (c) rows is what the DRPM adds", table)
        for method, epochs in (("vade", 1), ("drpm_vc", 2)):
            with open(os.path.join(model_dir, method, "results.json")) as f:
                summary = json.load(f)
            self.assertEqual((summary["num_replicas"], summary["epochs"]), (2, epochs))
            events = os.listdir(os.path.join(model_dir, method, "tensorboard", "train"))
            self.assertLen(events, 1)  # the chief's only
        worker_root = run_directory.worker_output_root(json.dumps(
            {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
             "task": {"type": "worker", "index": 1}}))
        self.assertFalse(os.path.exists(worker_root))


class VCKillAndResumeTest(tf.test.TestCase):

    def test_killed_run_resumes_exactly(self):
        # The smoke pretraining has 1 epoch: the kill after epoch 2 hits DRPM-VC.
        resume_util.check_kill_and_resume(
            self, "vc", [os.path.join(_REPO, "gin", "tests", "vc_smoke.gin")],
            ["drpm_vc/train.epochs = 3", "vc_experiment.methods = ['drpm_vc']"],
            run_subdir="drpm_vc", kill_after_epoch=2, epochs=3)


if __name__ == "__main__":
    tf.test.main()
