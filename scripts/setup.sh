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

npm ci --no-audit --no-fund
npm run build
