#!/usr/bin/env bash
# Installs benchmark peers that cannot be ordinary devDependencies:
#   reed-solomon@3.1.2 (pure-JS Backblaze port): its optional nan addon fails to build on Node 20, which would
#   fail `npm install`, so it goes to bench/.peers with --ignore-scripts and its JS path is what we compare.
#   The ISA-L harness bench/isal_bench.c is compiled against Debian's libisal-dev.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/.peers"
if [ ! -d "$here/.peers/node_modules/reed-solomon" ]; then
  npm install --prefix "$here/.peers" --ignore-scripts --no-save --no-audit --no-fund reed-solomon@3.1.2 >/dev/null
fi
if [ -f /usr/include/isa-l/erasure_code.h ]; then
  gcc -O2 -o "$here/.peers/isal_bench" "$here/isal_bench.c" -lisal
fi
echo "peers ready in $here/.peers"
