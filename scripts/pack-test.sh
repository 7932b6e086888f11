#!/usr/bin/env bash
# The package test (issue: bring your own node): packs fedsim, installs the tarball into a fresh
# project, and there runs a scenario of a plugin protocol written in that project, a short fuzz
# campaign on it, and a vitest file that uses fedsim/vitest. Slow (a build and an install), so it is
# its own step in .ci/run rather than part of `npm test`. Exit 0 when all three pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fedsim-pack-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball"
mkdir "$work/project" && cd "$work/project"
printf '{ "name": "my-proto", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
vitest_version=$(node -p "require('$root/node_modules/vitest/package.json').version")
# Offline from npm's cache when it can; from the registry otherwise.
npm install "$work/$tarball" "vitest@$vitest_version" --offline --no-audit --no-fund --loglevel=error ||
  npm install "$work/$tarball" "vitest@$vitest_version" --no-audit --no-fund --loglevel=error
mkdir ping
sed "s#'../../src/index.js'#'fedsim'#" "$root/examples/ping/index.ts" > ping/index.ts
sed "s#protocol: ./index.ts#protocol: ./ping/index.ts#" "$root/examples/ping/hello.yaml" > hello.yaml
cat > ping.test.ts <<'TEST'
import { fuzzTest, scenarioTest } from 'fedsim/vitest';
import { loadPlugin } from 'fedsim';
import { expect, it } from 'vitest';

scenarioTest('hello.yaml');
fuzzTest('./ping/index.ts', { runs: 5 });
it('loads the plugin by its module', async () => {
  expect((await loadPlugin('./ping/index.ts')).protocol.name).toBe('ping');
}, 120_000);
TEST
npx fedsim --version
npx fedsim run hello.yaml --no-traces
npx fedsim fuzz ./ping/index.ts --runs 10 --workers 2 --no-progress
npx vitest run ping.test.ts
echo "pack test: passed"
