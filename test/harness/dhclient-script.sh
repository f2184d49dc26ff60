#!/bin/sh
# dhclient -sf script for test guests: sets the leased IPv4 address and the
# default route on the guest's interface, and nothing else. Unlike the stock
# /sbin/dhclient-script it never writes /etc/resolv.conf (a network namespace
# shares the host's /etc): the DNS servers stay in the lease file.
case "$reason" in
  BOUND | RENEW | REBIND | REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
      ip -4 addr del "$old_ip_address/${old_subnet_mask:-$new_subnet_mask}" dev "$interface" 2>/dev/null
    fi
    ip -4 addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    for router in $new_routers; do
      ip -4 route replace default via "$router" dev "$interface"
      break
    done
    ;;
  EXPIRE | FAIL | RELEASE)
    if [ -n "$old_ip_address" ]; then
      ip -4 addr del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
    fi
    ;;
esac
exit 0
