#!/bin/sh
# The first process of an appliance's private mount and UTS namespaces, run
# inside its network namespace: a private /run, so nothing the agent or its
# daemons write there reaches the host, and a sysfs of its own network
# namespace, so /sys/class/net lists the appliance's interfaces and no other.
# Then exec the agent itself: it keeps this PID, the one the orchestrator records.
set -e
mount -t tmpfs -o mode=0755 astara-run /run
# The kernel refuses a second mount of the same sysfs on the same place (what
# `ip netns exec` already mounted there): detach whatever /sys is first.
umount -l /sys
mount -t sysfs astara-sys /sys
exec "$@"
