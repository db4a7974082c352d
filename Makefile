# Two commands on a fresh machine:  `make demo` (set everything up, run the demo)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint clean

setup: $(STAMP)

# The .pth file puts the checkout itself on sys.path (as setuptools' deprecated editable_mode=compat did), so
# that `import sgdfuse_ros` finds the package from the checkout's parent folder too, where the folder
# sgdfuse_ros/ would otherwise be imported as an empty namespace package.
$(STAMP): requirements.txt setup.py Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_path('purelib'), 'sgdfuse_ros_checkout.pth').write_text('$(CURDIR)\\n')"
	touch $@

demo: setup
	$(BIN)/sgdfuse demo

lint: setup
	$(BIN)/ruff check .

# The whole suite runs in a private network namespace (loopback only), so DDS traffic of the ROS tests
# never leaves this machine. Without the privilege for `unshare -n`, the DDS tests skip themselves.
test: lint
	@if unshare -n true 2>/dev/null; then \
		unshare -n sh -c 'ip link set lo up && ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1 \
			$(BIN)/python -m pytest -q'; \
	else \
		echo "unshare -n not permitted: DDS tests will skip"; $(BIN)/python -m pytest -q; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
