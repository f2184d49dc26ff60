// The string formats of the configuration schema, each a check over the
// contract's own address parser: one definition for the generated validator
// (contract/configuration.validator.ts) and for the messages that name them.
import { parseAddress, parseCidr } from './ip.js';

export const SCHEMA_FORMATS: Readonly<Record<string, (value: string) => boolean>> = {
  'ip-address': (s) => parseAddress(s) !== undefined,
  'ip-address-or-empty': (s) => s === '' || parseAddress(s) !== undefined,
  'ipv4-address-or-empty': (s) => s === '' || parseAddress(s)?.family === 4,
  'ip-interface': (s) => parseCidr(s) !== undefined,
  'ip-network': (s) => {
    const cidr = parseCidr(s);
    return cidr !== undefined && cidr.cidr === cidr.network;
  },
};

/** What a value failing each format is told. */
export const FORMAT_MESSAGES: Readonly<Record<string, string>> = {
  'ip-address': 'must be an IPv4 or IPv6 address',
  'ip-address-or-empty': 'must be an IPv4 or IPv6 address, or empty',
  'ipv4-address-or-empty': 'must be an IPv4 address, or empty',
  'ip-interface': 'must be an address with a prefix length (198.51.100.1/24, 2001:db8::1/64)',
  'ip-network': 'must be a network in CIDR notation with no host bits set (198.51.100.0/24, 2001:db8::/64)',
};
