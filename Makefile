# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PROTOS := $(shell find protos -name '*.proto')
STAMP  := $(VENV)/.installed

.PHONY: run test system-deps proto lint typecheck bench screenshots clean swarm swarm-down

run: proto
	$(BIN)/ledgerd

# Two workers (pytest-xdist), each file on one worker: most tests wait on Docker,
# Swarm or a subprocess rather than compute. TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: system-deps proto
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Debian packages the tests need (PostgreSQL server binaries, ...): installs only what is missing.
system-deps:
	bash scripts/install-system-deps.sh

# A registry on 127.0.0.1:5000 and the engine made a single-node swarm, to try
# LEDGER_RUNTIME=swarm on one machine (the tests start their own).
swarm:
	bash scripts/local-swarm.sh up

swarm-down:
	bash scripts/local-swarm.sh down

# Generated gRPC/protobuf code is build output (ledger_api/, not committed).
proto: $(STAMP) ledger_api/v1/ledger_pb2.py

ledger_api/v1/ledger_pb2.py: $(PROTOS) $(STAMP)
	mkdir -p ledger_api/v1
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iprotos \
		--python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. $(PROTOS)
	touch ledger_api/__init__.py ledger_api/v1/__init__.py ledger_api/py.typed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: proto
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: proto
	$(BIN)/mypy

bench: proto
	$(BIN)/python bench/run.py

# Screenshots of the web console for the README (docs/console-*.png), in headless Chromium.
screenshots: system-deps proto
	$(BIN)/python scripts/console_screenshots.py

clean:
	rm -rf $(VENV) ledger_api .ledger .pytest_cache .mypy_cache
