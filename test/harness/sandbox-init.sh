#!/bin/sh
# Runs as the first process of the agent's private mount and UTS namespaces:
# a private /run, so nothing the agent or its daemons write there reaches the
# host, then exec the agent itself (keeping the PID the harness knows).
set -e
mount -t tmpfs -o mode=0755 astara-run /run
exec "$@"
