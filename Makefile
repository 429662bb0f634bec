# make demo | make test | make clean — see README.md.
SHELL := /bin/bash
ENV := scripts/env

.PHONY: setup demo test lab-up lab-down clean

setup:
	@scripts/setup

# make demo [SCENARIO=meter]: every scenario stack (or one scenario's two) on the lab.
demo: setup
	@$(ENV) node runner/cli.ts demo $(if $(SCENARIO),--scenario $(SCENARIO))

# make test [TIER=unit|engine|lab]: every tier in turn, or one (see vitest.config.mts).
test: setup
	@$(ENV) vitest run $(if $(TIER),--project $(TIER))

lab-up: setup
	@$(ENV) node lab/cli.ts up

lab-down:
	@$(ENV) node lab/cli.ts down

# Removes the default lab and what npm installed; the toolchain cache
# (~/.cache/ovs-offload-lab) and Pulumi state (.pulumi-state) stay.
clean:
	@if [ -d node_modules ]; then $(ENV) node lab/cli.ts down; fi
	rm -rf node_modules reports
