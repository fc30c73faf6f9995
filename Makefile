# Two entry points, both doing their own set-up on a fresh machine:
#   make demo   the example app's eval suite on the offline judge, writing its reports
#   make test   lint, type-check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean system-deps image

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/pytest --ragops-eval examples -p no:cacheprovider
	@echo "reports: examples/.ragops/report.json examples/.ragops/report.md"
	@echo "MLflow UI: $(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/examples/.ragops/mlflow.db"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/zizmor --offline --quiet .github/workflows action.yml

# The PostgreSQL server for the drift log's integration tests; the image usually has it.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
		echo "installing postgresql (drift integration tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi
	@# nginx with its njs module (canary routing) for the service's deploy tests.
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_http_js_module.so ]; then \
		echo "installing nginx and libnginx-mod-http-js (service deploy tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-js; \
	fi

# The example service's image; where no Docker daemon answers, say so and succeed.
IMAGE ?= ragapp:dev
image:
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		docker build -f examples/Dockerfile -t $(IMAGE) .; \
	else \
		echo "make image: no Docker daemon available here; skipped building $(IMAGE)"; \
	fi

test: lint system-deps
	$(BIN)/pytest examples -p no:cacheprovider
	$(BIN)/pytest -p no:cacheprovider -n 2

bench: install
	$(BIN)/python benchmarks/idle_overhead.py
	$(BIN)/python benchmarks/drift_scale.py
	$(BIN)/python benchmarks/flags.py
	$(BIN)/python benchmarks/offline_judge.py
	$(BIN)/python benchmarks/service_load.py
	$(BIN)/python benchmarks/mlflow_overhead.py
	$(BIN)/python benchmarks/judge_throughput.py
	$(BIN)/python benchmarks/report_scale.py --xdist

clean:
	rm -rf $(VENV) .ragops examples/.ragops build *.egg-info
