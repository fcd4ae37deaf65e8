#!/usr/bin/env bash
# Stops the cluster scripts/pg-up.sh started in DIR, by the postmaster's pid (the first line of
# DIR/data/postmaster.pid), and waits until that process is gone. MODE is PostgreSQL's shutdown mode:
# `fast` (default: SIGINT, active sessions are ended and the cluster shuts down cleanly) or `immediate`
# (SIGQUIT: every process quits at once without a checkpoint, like a crash; the next start recovers from
# the WAL). A DIR with no running cluster is not an error.
#   usage: scripts/pg-down.sh DIR [fast|immediate]
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: $0 DIR [fast|immediate]" >&2; exit 2; fi
pidfile=$1/data/postmaster.pid
mode=${2:-fast}
case "$mode" in
  fast) sig=INT ;;
  immediate) sig=QUIT ;;
  *) echo "mode must be fast or immediate, not $mode" >&2; exit 2 ;;
esac
[ -f "$pidfile" ] || exit 0
pid=$(head -n 1 "$pidfile")
case "$pid" in ''|*[!0-9]*) echo "$pidfile does not start with a pid" >&2; exit 1 ;; esac
kill -s "$sig" "$pid" 2>/dev/null || exit 0 # already gone (a stale pid file)
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || exit 0
  sleep 0.1
done
echo "postmaster $pid did not stop within 60 s" >&2
exit 1
