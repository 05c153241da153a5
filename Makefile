# secdns: `make run` starts the appliance, `make test` runs the whole suite.
# Both set up everything they need on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= etc/secdns.toml
PEER_PACKAGES := bind9 bind9-dnsutils bind9-utils knot knot-dnsutils nsd dnsperf faketime prometheus pdns-server pdns-backend-bind openssh-client
PEER_COMMANDS := named knotd nsd dig kdig dnssec-signzone dnsperf faketime promtool pdns_server ssh
# Peers that are not commands: PowerDNS's BIND-file backend (pdns-backend-bind).
PEER_FILES    := /usr/lib/*/pdns/libbindbackend.so
# The console's browser tests: Debian's headless Chromium and its chromedriver (nothing downloaded at run time).
PEER_PACKAGES += chromium chromium-driver
PEER_COMMANDS += chromium chromedriver

export PYTHONPATH := $(CURDIR)

.PHONY: run test unit integration bench bench-reload bench-zonefile docs fuzz soak peers venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	@echo "creating $(VENV), installing Python packages (pip, then secdns and its test tools: pip install -e '.[test]')"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: venv
	$(BIN)/twistd -n secdns --config $(CONFIG)

# The real DNS peers the integration tests and benchmarks run against.
peers:
	@missing=""; for c in $(PEER_COMMANDS); do \
	    PATH="$$PATH:/usr/sbin:/sbin" command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	for f in $(PEER_FILES); do [ -e "$$f" ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing Debian packages $(PEER_PACKAGES) (missing:$$missing)"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PEER_PACKAGES) >/dev/null; \
	    else \
	        echo "missing DNS peers:$$missing (install as root: apt-get install $(PEER_PACKAGES))"; \
	    fi; \
	fi

test: venv peers
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m pytest -q -p no:cacheprovider tests

unit: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

integration: venv peers
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

bench: venv peers
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python bench/query_bench.py

# SIGHUP with a 450,000-host zone file changed, and restarts: how another
# zone's queries fare (about a minute; RELOAD_HOSTS=, RELOAD_RUNS= to change).
RELOAD_HOSTS ?= 450000
RELOAD_RUNS  ?= 3
bench-reload: venv
	$(BIN)/python bench/reload_bench.py --hosts $(RELOAD_HOSTS) --runs $(RELOAD_RUNS)

# A million-record zone file of the usual mix read by secdns and by BIND's
# named-checkzone (ZONEFILE_RECORDS= to change).
ZONEFILE_RECORDS ?= 1000000
bench-zonefile: venv peers
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python bench/zonefile_bench.py --records $(ZONEFILE_RECORDS)

# Coverage-guided fuzzing of the parsers anyone can reach (tests/fuzz): each
# target for FUZZ_SECONDS, its corpus kept in var/fuzz/TARGET; an input that
# makes one fail is written to var/fuzz/crash-TARGET-*: keep it in
# tests/fuzz/corpus/TARGET/ with the fix.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := query tsig transfer zone_file config
fuzz: venv
	@mkdir -p var/fuzz
	@for t in $(FUZZ_TARGETS); do echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	    $(BIN)/python -m tests.fuzz $$t var/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -verbosity=0 \
	        -artifact_prefix=var/fuzz/crash-$$t- || exit 1; done

# An hour of mixed work on one secdns (queries, transfers in and out, NOTIFY,
# SIGHUP, API calls): memory, descriptors and error lines over time, in
# bench/out/soak.json (SOAK_SECONDS= to change).
SOAK_SECONDS ?= 3600
soak: venv peers
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS)

# The documentation (docs/), as HTML in build/docs; every warning is an error.
docs: venv
	$(BIN)/sphinx-build -W -n --keep-going -b html docs build/docs

clean:
	rm -rf $(VENV) var build *.egg-info twisted/plugins/dropin.cache
