#!/usr/bin/env bash
# Run node's test runner (through tsx) on an explicit, sorted file list, so the
# runner prints what ran; an empty list is an error, never a silent pass.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: run-tests.sh unit|functional}
case "$kind" in
  unit) mapfile -t files < <(find contract appliance orchestrator test/unit -name '*.test.ts' 2>/dev/null | sort) ;;
  functional) mapfile -t files < <(find test/functional -name '*.test.ts' | sort) ;;
  *) echo "unknown test kind: $kind" >&2; exit 2 ;;
esac
if [ ${#files[@]} -eq 0 ]; then echo "no $kind test files found" >&2; exit 1; fi
if [ "$kind" = functional ] && [ "$(id -u)" -ne 0 ]; then
  echo "functional tests need root (or run: npm run test:hermetic)" >&2; exit 1
fi
concurrency=()
# Namespace tests start daemons; on a 2-core machine one file at a time is fastest and steadiest.
[ "$kind" = functional ] && concurrency=(--test-concurrency=1)
if [ "$kind" = functional ]; then
  # The OpenStack test files (scripts/openstack.sh) start the services once and leave them
  # to the next file; they are stopped after the last one, whatever the outcome.
  export ASTARA_OPENSTACK_KEEP=1
  trap 'bash scripts/openstack.sh down >/dev/null 2>&1 || true' EXIT
  npx tsx --test "${concurrency[@]}" --test-reporter=spec "${files[@]}"
  exit
fi
exec npx tsx --test "${concurrency[@]}" --test-reporter=spec "${files[@]}"
