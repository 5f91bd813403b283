# vitscfg — the two commands of the README do all set-up themselves:
#   make demo   runs the main job on the bundled examples
#   make test   runs the test suite
# Both create or refresh .venv (python3 -m venv) and install vitscfg with the
# [train,dev] extras (torch 2.9.1 + torchaudio 2.9.1, a tested pair).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all generate lint bench clean gpu-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[train,dev]"
	touch $(STAMP)

demo: $(STAMP)
	@echo "== vitscfg check on the bundled examples"
	$(BIN)/vitscfg check examples/ljs_base.json examples/tiny/config.json
	@echo "== vitscfg explain: a rule and a field (English and French)"
	$(BIN)/vitscfg explain VC201
	$(BIN)/vitscfg explain segment_size
	$(BIN)/vitscfg explain fp16_run --lang fr
	@echo "== a broken config: what the linter says (exit 1 is expected)"
	-$(BIN)/vitscfg check --no-data tests/fixtures/configs/broken_segment.json
	@echo "== vitscfg estimate: memory per batch_size x segment_size, without a GPU (a 24 GiB card)"
	$(BIN)/vitscfg estimate examples/ljs_base.json --no-data --vram 24GiB
	@echo "== vitscfg train: a short CPU run on the tiny corpus (rerun resumes; TensorBoard: runs/tiny)"
	$(BIN)/vitscfg train examples/tiny/config.json --run-dir runs/tiny --max-steps 40
	@echo "== vitscfg synth: text to speech with that checkpoint (still noise after 40 steps)"
	$(BIN)/vitscfg synth --checkpoint runs/tiny/G_40.pth --config runs/tiny/config.json \
		"The cat sat on the warm mat." -o runs/tiny/demo.wav

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Regenerate what is derived from the schemas and rule docstrings
# (tests/test_generated.py fails when these are stale).
generate: $(STAMP)
	$(BIN)/python -m vitscfg.config.compiled
	$(BIN)/vitscfg schema --write schemas
	$(BIN)/python -m vitscfg.docsgen

lint: $(STAMP)
	$(BIN)/ruff format --check vitscfg tests bench scripts
	$(BIN)/ruff check vitscfg tests bench scripts
	$(BIN)/mypy vitscfg

bench: $(STAMP)
	$(BIN)/python bench/check_latency.py
	$(BIN)/python bench/data_check.py
	$(BIN)/python bench/lsp_latency.py

# What scripts/gpu_check.sh needs on a GPU machine whose image has torch but not vitscfg's
# core dependencies: this venv's versions of them as wheels for GPU_PY (the image's Python),
# unpacked into .gpu_deps/site (git-ignored; the device call carries .gpu_deps). With
# REFERENCE=DIR (a jaywalnut310/vits checkout) its Python files go to .gpu_deps/vits for
# bench/peer_reference.py. docs/gpu-validation.md has the device call.
GPU_PY   ?= 3.12
GPU_DEPS := pydantic pydantic_core annotated-types typing-inspection typing_extensions soundfile cffi pycparser
gpu-deps: $(STAMP)
	rm -rf .gpu_deps/site && mkdir -p .gpu_deps/site
	$(BIN)/python -m pip install --quiet --no-deps --no-compile --only-binary=:all: --target .gpu_deps/site \
		--python-version $(GPU_PY) --implementation cp --platform manylinux_2_28_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		$$($(BIN)/python -m pip freeze | grep -i -E "^($(shell echo $(GPU_DEPS) | tr ' ' '|'))==")
	echo $(GPU_PY) > .gpu_deps/site/PYTHON_VERSION
	if [ -n "$(REFERENCE)" ]; then rm -rf .gpu_deps/vits && mkdir -p .gpu_deps/vits && \
		(cd "$(REFERENCE)" && find . -name '*.py' -not -path './.git/*' | tar cf - -T -) | tar xf - -C .gpu_deps/vits && \
		(git -C "$(REFERENCE)" rev-parse --short HEAD > .gpu_deps/vits/COMMIT || echo unknown > .gpu_deps/vits/COMMIT); fi
	du -sh .gpu_deps

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
