#!/usr/bin/env bash
# Debian packages used by test tiers and benchmarks. Idempotent; run as root (CI runs it from .ci/run).
#   libisal-dev            ISA-L 2.30: the independent oracle for parity vectors and the benchmark peer
#   b3sum                  reference BLAKE3 CLI for the hash benchmark
#   g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user   NEON kernels run under emulation
#   xfsprogs, strace       loop-mounted xfs disks for power-cut tests; syscall fault injection
#   awscli, prometheus     the S3 daemon driven by the AWS CLI; promtool checks the /metrics text
#   jq                     docs/runbooks/ read `status --json` with it (test/runbooks.test.ts runs them)
#   postgresql             the PostgreSQL catalog's private test cluster (scripts/pg-up.sh; Debian's package
#                          creates a cluster 15/main that a systemd host starts on port 5432: the tests do not use it)
set -euo pipefail
pkgs=(libisal-dev b3sum g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user xfsprogs strace awscli prometheus jq postgresql)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages present"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
