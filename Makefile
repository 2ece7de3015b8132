# posops: `make demo` serves the demo fleet, `make test` runs the whole suite. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
POSOPS := $(BIN)/posops
export POSOPS_DATABASE_URL ?= sqlite:///var/posops.db

.PHONY: demo test bench lint install clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

var/admin-token:
	mkdir -p var
	$(BIN)/python -c "import secrets; print('pos_admin_' + secrets.token_urlsafe(24))" > $@
	chmod 600 $@

demo: $(VENV)/.installed var/admin-token
	$(POSOPS) db upgrade
	$(POSOPS) demo load
	@echo "API token: export POSOPS_ADMIN_TOKEN=$${POSOPS_ADMIN_TOKEN:-$$(cat var/admin-token)}"
	@echo 'then: curl -H "Authorization: Bearer $$POSOPS_ADMIN_TOKEN" 127.0.0.1:8000/api/v1/terminals'
	POSOPS_ADMIN_TOKEN=$${POSOPS_ADMIN_TOKEN:-$$(cat var/admin-token)} $(POSOPS) serve

test: $(VENV)/.installed
	$(BIN)/pytest

SHARED ?= $(or $(POSOPS_SHARED),../shared)

bench: $(VENV)/.installed
	@[ -d "$(SHARED)/bench" ] || { echo "make bench needs the benchmark cases and harness in $(SHARED)/bench" \
	  "(the shared folder beside this clone); set POSOPS_SHARED=/path/to/shared if it is elsewhere" >&2; exit 2; }
	@for script in bench/*.py bench/*.sh; do [ -e "$$script" ] || continue; echo "== $$script"; \
	  case "$$script" in *.sh) bash "$$script" ;; *) $(BIN)/python "$$script" ;; esac || exit 1; done

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
