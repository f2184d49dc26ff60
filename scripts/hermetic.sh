#!/usr/bin/env bash
# Run a command (by default the functional tests) without real root, inside
# new user, network and mount namespaces with a private /run: `ip netns add`
# works there, and nothing the tests do is visible outside.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${ASTARA_HERMETIC:-}" != inner ]; then
  exec env ASTARA_HERMETIC=inner unshare --user --map-root-user --net --mount -- "$0" "$@"
fi
mount -t tmpfs -o mode=0755 hermetic-run /run
ip link set lo up
if [ $# -eq 0 ]; then set -- bash scripts/run-tests.sh functional; fi
exec "$@"
