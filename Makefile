# tf_drpm: `make demo` and `make test` install what they need into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FMNIST_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: demo demo-partitions test test-slow bench venv fashion-mnist clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[trainers,test,dlib]'
	# disentanglement_lib pins TF 1.x: installed without its dependencies (the
	# `dlib` extra has what its metrics and aggregate_results need); its metric
	# modules import through tf_drpm.evaluation.dlib_compat.
	$(PY) -m pip install -q --no-deps disentanglement-lib==1.5
	touch $(STAMP)

# Debian's Fashion-MNIST IDX files, installed when missing and apt-get is usable.
fashion-mnist:
	@if [ ! -f $(FMNIST_DIR)/t10k-labels-idx1-ubyte.gz ] && [ ! -f $(FMNIST_DIR)/t10k-labels-idx1-ubyte ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -qq dataset-fashion-mnist || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)) >/dev/null \
	      || echo "warning: could not install dataset-fashion-mnist"; \
	  else echo "note: $(FMNIST_DIR) missing and apt-get not usable; tests that need it are skipped"; fi; \
	fi

# The main job: DRPM-VC, VaDE, Latent GMM and GMM on Fashion-MNIST (quick protocol,
# 5 to 9 minutes from scratch on 2 CPU cores), printing the four-method table and writing pictures.
demo: $(STAMP) fashion-mnist
	$(PY) -m trainers.vc --gin_file gin/vc/fmnist_quick.gin --model_dir runs/demo

# A few sampled partitions with their exact probabilities and the Lemma 4.2 bounds.
demo-partitions: $(STAMP)
	$(PY) -m trainers.partition_demo

test: $(STAMP) fashion-mnist
	$(PY) -m pytest -q -n 2 -m "not slow" tests

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow tests

bench: $(STAMP)
	$(PY) benchmarks/partition.py --write-docs

clean:
	rm -rf $(VENV) *.egg-info
