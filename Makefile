# make demo | make test | make clean — see README.md.
SHELL := /bin/bash
ENV := scripts/env

.PHONY: setup demo test lab-up lab-down clean

setup:
	@scripts/setup

demo: setup
	@$(ENV) scripts/demo

test: setup
	@$(ENV) vitest run

lab-up: setup
	@$(ENV) node lab/cli.ts up

lab-down:
	@$(ENV) node lab/cli.ts down

# Removes the default lab and what npm installed; the toolchain cache
# (~/.cache/ovs-offload-lab) and Pulumi state (.pulumi-state) stay.
clean:
	@if [ -d node_modules ]; then $(ENV) node lab/cli.ts down; fi
	rm -rf node_modules reports
