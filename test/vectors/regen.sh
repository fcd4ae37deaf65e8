#!/usr/bin/env bash
# Regenerates test/vectors/isal-rs.json from ISA-L (apt-get install libisal-dev). Usage: regen.sh [out.json]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/isal-rs.json}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/gen" "$here/gen_isal_vectors.c" -lisal
"$tmp/gen" > "$out"
