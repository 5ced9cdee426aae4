# baff_ros developer entry points. Every target creates .venv/ on first use.
#
# TORCH picks the PyTorch build that goes into .venv/ (README, "Install: CPU, CUDA or Jetson"):
#   cpu     (default) torch 2.13.0+cpu from PyTorch's CPU wheel index; onnxruntime (CPU)
#   cuda    torch 2.13.0 from PyPI, the CUDA 13 build with its nvidia-* packages; onnxruntime-gpu
#   jetson  JetPack's own torch: JETSON_TORCH=<NVIDIA wheel, file or URL>, or one installed
#           system-wide (JetPack containers); the venv sees system packages (TensorRT, torch)
# e.g. `make demo TORCH=cuda`. Switching builds needs a new venv: `make clean` first.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
TORCH ?= cpu
TORCH_VERSION := 2.13.0
CPU_INDEX := https://download.pytorch.org/whl/cpu

ifeq ($(TORCH),cpu)
  VENV_FLAGS :=
  # Only torch comes from the CPU index (--no-deps); its dependencies come from PyPI with the
  # package's, next. Installed first, so nothing below can pull another torch build.
  TORCH_INSTALL := $(PIP) install -q --no-deps 'torch==$(TORCH_VERSION)+cpu' --index-url $(CPU_INDEX)
  EXTRAS := all,dev
else ifeq ($(TORCH),cuda)
  VENV_FLAGS :=
  TORCH_INSTALL := $(PIP) install -q 'torch==$(TORCH_VERSION)'
  EXTRAS := onnx-gpu,dds,bag,plot,dev
else ifeq ($(TORCH),jetson)
  VENV_FLAGS := --system-site-packages
  TORCH_INSTALL := $(if $(JETSON_TORCH),$(PIP) install -q '$(JETSON_TORCH)',true) && \
    $(VPY) -c 'import torch' 2>/dev/null || { echo 'TORCH=jetson: no torch in the venv;' \
    'give NVIDIA'"'"'s JetPack wheel as JETSON_TORCH=<file or URL> (README)'; exit 2; }
  # No dds: PyPI has no aarch64 cyclonedds wheel (README says how to build it against ROS 2's).
  EXTRAS := onnx,bag,plot,dev
else
  $(error TORCH must be cpu, cuda or jetson, not '$(TORCH)')
endif

STAMP := $(VENV)/.installed-$(TORCH)

.PHONY: venv demo test test-all lint bench clean

$(STAMP): setup.py setup.cfg
	@other=$$(ls $(VENV)/.installed-* 2>/dev/null | grep -v -- '-$(TORCH)$$' || true); \
	if [ -n "$$other" ]; then \
	  echo "$(VENV) holds the $${other##*-} build; run 'make clean' to switch to TORCH=$(TORCH)"; \
	  exit 2; fi
	$(PY) -m venv $(VENV_FLAGS) $(VENV)
	$(PIP) install -q --upgrade pip
	$(TORCH_INSTALL)
	$(PIP) install -q -e '.[$(EXTRAS)]'
	touch $@

venv: $(STAMP)

demo: venv
	$(VENV)/bin/baff-ros demo

# scripts/test.sh: with ROS 2 (installed from ../shared/ros2 where present, or already
# sourced), the suite runs in a sourced ROS 2 environment; see its header.
test: venv
	bash scripts/test.sh

test-all: venv
	bash scripts/test.sh -m 'slow or not slow'

lint: venv
	$(VPY) -m pytest -q -m linter

bench: venv
	$(VENV)/bin/baff-ros bench --json bench.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
