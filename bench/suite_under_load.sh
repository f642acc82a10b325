#!/usr/bin/env bash
# The whole test suite while other processes keep every core busy (issue 12, item 8):
#   bench/suite_under_load.sh [RUNS] [pytest args...]
# Starts one busy loop per core (nproc), runs scripts/test.sh RUNS times in a row (default
# 3), prints each run's result and time, and stops the loops on exit. Exit status: 0 when
# every run passed.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
hogs=()
for _ in $(seq "$(nproc)"); do
  python3 -c "while True: pass" &
  hogs+=($!)
done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
failed=0
for n in $(seq "$runs"); do
  start=$(date +%s)
  scripts/test.sh "$@" > "/tmp/giaoban-suite-under-load-$n.log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] || failed=1
  echo "run $n: exit $rc in $(( $(date +%s) - start )) s; $(tail -n 1 "/tmp/giaoban-suite-under-load-$n.log")"
done
exit "$failed"
