#!/usr/bin/env bash
# The pinned toolchain, shared by setup (which installs it) and env (which
# puts it on PATH). Sourced, never run.
PULUMI_VERSION=3.260.0
LANGHOST_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
LANGHOST_VERSION=v3.0.0-20260821191800-1b5949891b3c
COMMAND_MODULE=github.com/pulumi/pulumi-command
COMMAND_MODULE_VERSION=v1.2.2-0.20260821053851-010bd8e0dd8a
# The version string the plugin reports; it must match @pulumi/command in package.json.
COMMAND_VERSION=1.2.1
NODE_VERSION=24.9.0
# The oldest Node.js that runs TypeScript itself (type stripping on by default).
NODE_MIN_VERSION=22.18.0

CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/ovs-offload-lab
PULUMI_BIN=$CACHE_ROOT/toolchain/pulumi-v$PULUMI_VERSION/bin
# Built here, then installed into Pulumi's plugin cache: a plugin found on PATH
# works too, but Pulumi warns about it on every run.
COMMAND_PLUGIN=$CACHE_ROOT/toolchain/pulumi-resource-command-v$COMMAND_VERSION
PULUMI_PLUGINS=${PULUMI_HOME:-$HOME/.pulumi}/plugins
NODE_HOME=$CACHE_ROOT/node-v$NODE_VERSION

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# True when the node binary $1 runs and is new enough.
node_ok() { local v; v=$("$1" -p process.versions.node 2>/dev/null) && version_ge "$v" "$NODE_MIN_VERSION"; }

# True when the node first on PATH (outside our cache) is new enough.
system_node_ok() {
  local n; n=$(PATH=$(path_without_cache) command -v node) || return 1
  node_ok "$n"
}

# True when the pulumi first on PATH (outside our cache) is at least the pinned
# version and its Node.js language host and dynamic provider host are there too.
system_pulumi_ok() {
  local p v
  p=$(PATH=$(path_without_cache) command -v pulumi) || return 1
  PATH=$(path_without_cache) command -v pulumi-language-nodejs >/dev/null || return 1
  PATH=$(path_without_cache) command -v pulumi-resource-pulumi-nodejs >/dev/null || return 1
  v=$("$p" version 2>/dev/null) || return 1
  version_ge "${v#v}" "$PULUMI_VERSION"
}

# True when Pulumi will find the command plugin at the pinned version.
command_plugin_ok() {
  command -v pulumi-resource-command >/dev/null || [ -x "$PULUMI_PLUGINS/resource-command-v$COMMAND_VERSION/pulumi-resource-command" ]
}

version_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

path_without_cache() {
  printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$CACHE_ROOT/" | paste -sd:
}

# The directories to put in front of PATH, ':'-joined (may be empty).
toolchain_path() {
  local dirs=()
  system_node_ok || dirs+=("$NODE_HOME/bin")
  system_pulumi_ok || dirs+=("$PULUMI_BIN")
  (IFS=:; printf '%s' "${dirs[*]}")
}
