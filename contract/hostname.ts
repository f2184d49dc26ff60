// Host names that a DHCP server would read as something else. dnsmasq takes
// the fields of a `dhcp-host` line (and of each line of its hosts file) by
// their look, not their position (option.c): a field of digits with an
// optional unit (`300`, `5m`, `12h`, `1w`) is a lease time, a dotted quad is
// an IPv4 address, `infinite` an infinite lease and `ignore` means "never
// answer this host". A host name of one of those shapes would silently
// change what the guest is offered. dnsmasq is given the first label only
// (the document carries no domain), so that label is checked as well.

const LEASE_TIME = /^[0-9]+[smhdw]?$/i;
const ALL_NUMERIC_LABELS = /^[0-9]+(?:\.[0-9]+)*$/;
const KEYWORDS: Readonly<Record<string, string>> = { ignore: 'never answer this guest', infinite: 'an infinite lease' };

/** Why `hostname` cannot be given to a DHCP server as a host name, or undefined when it can. */
export function dhcpHostnameProblem(hostname: string): string | undefined {
  if (ALL_NUMERIC_LABELS.test(hostname)) return `"${hostname}" is made of numbers only: dnsmasq would read it as an address or a lease time, not a host name`;
  for (const name of new Set([hostname, hostname.split('.')[0] ?? ''])) {
    const keyword = name.toLowerCase();
    const what = name === hostname ? `"${hostname}"` : `its first label "${name}" (the part dnsmasq is given)`;
    if (Object.hasOwn(KEYWORDS, keyword)) return `${what} is a dnsmasq keyword (${KEYWORDS[keyword]}), not a host name`;
    if (LEASE_TIME.test(name)) return `${what} would be read by dnsmasq as a lease time, not a host name`;
  }
  return undefined;
}
