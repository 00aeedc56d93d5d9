# annotrace: `make install && make run`; `make test`; `make bench`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# the reference for tests/differential: a stock `mlflow server` and the 3.17 client (full mlflow has
# no 3.18 wheel here; .venv keeps mlflow-skinny 3.18 as the other client)
MLFLOW_VENV := .venv-mlflow
MLFLOW_VERSION := 3.17.2
# the DuckLake store: its extension wheels exist only for duckdb 1.5.x, so the `lake` extra gets its
# own venv; tests/collector/store/test_lake.py runs lake collectors from it (and a PostgreSQL cluster)
LAKE_VENV := .venv-lake
CONFIG ?= otel-config.yaml

.PHONY: install run test test-fast bench bench-web lint lint-lines validate clean clean-data docs screenshots

install:
	@if [ "$$(id -u)" = "0" ] && ! [ -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "warning: could not install Debian chromium (browser tests will be skipped)"; fi
	@if [ "$$(id -u)" = "0" ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "warning: could not install Debian postgresql (the DuckLake tests will be skipped)"; fi
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev]'
	@# OpenLLMetry 0.54 (indexed gen_ai.prompt.<i>.* attributes) beside the current one that
	@# traceloop-sdk pins: only tests/e2e/test_genai_instrumentations_sdks.py puts it on a path
	$(BIN)/pip install -q --no-deps --upgrade --target $(VENV)/compat/openllmetry-0.54 \
		'opentelemetry-instrumentation-openai==0.54.0'
	test -x $(MLFLOW_VENV)/bin/python || $(PY) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q 'mlflow==$(MLFLOW_VERSION)'
	test -x $(LAKE_VENV)/bin/python || $(PY) -m venv $(LAKE_VENV)
	$(LAKE_VENV)/bin/pip install -q -e '.[lake]'

run:
	$(BIN)/annotrace serve --config $(CONFIG)

validate:
	$(BIN)/annotrace validate --config $(CONFIG)

test:
	$(BIN)/python -m pytest -q -p no:cacheprovider

# the inner loop: everything but the browser, e2e, slow and differential tests (pyproject markers)
test-fast:
	$(BIN)/python -m pytest -q -p no:cacheprovider -m 'not (browser or e2e or slow or differential)'

bench:
	$(BIN)/python -m bench

# the web pages' targets, timed in Chromium: 1,000-span trace, Review App moves, 100k-trace table
bench-web:
	$(BIN)/python -m bench.web_trace
	$(BIN)/python -m bench.web_review
	$(BIN)/python -m bench.web_table

# modules allowed over LINE_LIMIT lines (none now; never add one), each with its one-line reason; the
# check fails on any other module over the limit, and on a listed one that is back under it.
LINE_LIMIT := 400
LONG_MODULES :=
LINTED := collector instrumentation tests bench docs setup.py

# everything CI checks before the tests; installs nothing (`make install` installs the dev extra)
lint: lint-lines
	$(BIN)/python -m ruff check $(LINTED)
	$(BIN)/python -m ruff format --check $(LINTED)
	@# mypy cannot follow setuptools' package-dir mapping of an editable install: check a tree of
	@# symlinks laid out as the installed package (annotrace/ = instrumentation/, annotrace/collector/)
	rm -rf build/typecheck && mkdir -p build/typecheck/annotrace
	for f in instrumentation/*; do ln -s "$$PWD/$$f" build/typecheck/annotrace/; done
	ln -s "$$PWD/collector" build/typecheck/annotrace/collector
	cd build/typecheck && $(CURDIR)/$(BIN)/python -m mypy --config-file $(CURDIR)/pyproject.toml -p annotrace

lint-lines:
	@find collector instrumentation tests bench \( -name '*.py' -o -name '*.js' -o -name '*.css' \) -exec wc -l {} + | \
		awk -v limit=$(LINE_LIMIT) -v allowed="$(LONG_MODULES)" ' \
		BEGIN { n = split(allowed, list, " "); for (i = 1; i <= n; i++) long[list[i]] = 1 } \
		$$2 == "total" { next } \
		$$1 > limit && !($$2 in long) { print "over " limit " lines: " $$2 " (" $$1 ")"; bad = 1 } \
		$$1 <= limit && ($$2 in long) { print $$2 " is " $$1 " lines now: take it out of LONG_MODULES"; bad = 1 } \
		END { exit bad }'

# the virtualenvs and build output; never the stored data (that is `make clean-data`)
clean:
	rm -rf $(VENV) $(MLFLOW_VENV) $(LAKE_VENV) build *.egg-info

clean-data:
	@echo "deleting ./annotrace-data: the DuckDB store (every trace, span, assessment, label, labeling session,"
	@echo "dataset) and the spool (exports acknowledged but not yet stored). Stop any collector using it first."
	rm -rf annotrace-data

screenshots:
	$(BIN)/python docs/screenshots.py

docs:
	$(BIN)/python -m annotrace.collector.store.docs README.md
