# `make repro` and `make test` create .venv and install the pinned dependencies first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# Stage commands in dvc.yaml call `python`: it must be the virtualenv's.
RUN := PATH="$(BIN):$$PATH" TF_CPP_MIN_LOG_LEVEL=2

.PHONY: install repro test bench clean plots-page params-doc

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

repro: $(STAMP)
	$(RUN) dvc repro

# The `dvc plots show` page (.dvc/plots_page.html, committed): Vega inline, plots in the outline's order.
plots-page: $(STAMP)
	$(RUN) python -m latentspace.plots_page --out .dvc/plots_page.html

# docs/params.md: every key with its default, what it allows, the stages reading it, what it does.
params-doc: $(STAMP)
	$(RUN) python -m latentspace.params_reference

# Two workers, whole modules each (module fixtures run once); tests/conftest.py puts the longest first.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(RUN) python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

bench: $(STAMP)
	$(RUN) python bench/bench_synthetic.py
	$(RUN) python bench/bench_prepare.py
	$(RUN) dvc repro prepare
	$(RUN) python bench/bench_train_input.py
	$(RUN) python bench/bench_train_flops.py
	$(RUN) python bench/bench_batch_norm.py
	$(RUN) python bench/bench_batch_norm.py --size 64 --n 2048 --out bench/results/batch_norm_64.json
	$(RUN) python bench/bench_encode.py
	$(RUN) python bench/bench_scale.py --n 8192 --baseline-n 4096 --encode-batch-size 1024 --out bench/results/scale_cpu.json
	$(RUN) python bench/bench_stats_correlate.py
	$(RUN) python bench/bench_samplers.py
	$(RUN) python bench/bench_repro.py --mode once --out bench/results/repro_once.json

clean:
	rm -rf $(VENV)
