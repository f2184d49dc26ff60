#!/usr/bin/env bash
# One command from a fresh clone to a built agent: the Debian packages the agent
# drives and the tests use, the npm dependencies, then the build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  iproute2 iptables nftables conntrack conntrackd dnsmasq-base bird2 nginx-light libnginx-mod-stream
  keepalived strongswan-charon strongswan-swanctl libstrongswan-standard-plugins libcharon-extra-plugins
  iputils-ping iputils-arping
  isc-dhcp-client ndisc6 curl procps util-linux tmux
  etcd-server
  # The operator console's browser tests (test/functional/console.test.ts) drive it with playwright-core.
  chromium
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The OpenStack provider's tests run a real control plane (scripts/openstack.sh):
# ~440 MiB, mostly Python, so dpkg runs under eatmydata and man-db skips its
# index rebuild (125 s -> 100 s on a fresh machine). No daemon may start at
# install time (their default configurations listen everywhere): policy-rc.d
# says so for the install where the machine has none.
openstack_packages=(rabbitmq-server mariadb-server keystone neutron-server python3-pymysql uwsgi-plugin-python3 jq)
# Nova's test back-end (scripts/openstack.sh up --nova; +~280 MiB, ~20 s): not the
# nova-compute package, which brings libvirt and QEMU that the fake driver does not use.
openstack_packages+=(nova-api nova-conductor nova-scheduler placement-api glance-api)
openstack_missing=()
for package in "${openstack_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || openstack_missing+=("$package")
done
if [ ${#openstack_missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing the OpenStack test services: ${openstack_missing[*]}"
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  echo 'man-db man-db/auto-update boolean false' | "${sudo[@]}" debconf-set-selections
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends eatmydata
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive eatmydata apt-get install -y -q --no-install-recommends "${openstack_missing[@]}"
  [ "$own_policy" -eq 0 ] || "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
fi

npm ci --no-audit --no-fund
npm run build
