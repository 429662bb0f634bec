#!/usr/bin/env bash
# The package's build (npm run build; npm pack runs it as prepack): dist/,
# JavaScript with declarations. tsc rewrites the ./x.ts imports to ./x.js in
# the JavaScript it emits but not in the declarations, so those are rewritten
# here.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf dist
tsc -p tsconfig.json
find dist -name '*.d.ts' -exec sed -i -E "s#([\"'])(\.\.?/[^\"']*)\.ts\1#\1\2.js\1#g" {} +
