// The kernel host name from the document's `hostname`.
import type { ConfigModel } from '../../../contract/index.js';

/** The kernel keeps at most 64 bytes of host name (HOST_NAME_MAX); a DNS name may be up to 253. */
export const KERNEL_HOSTNAME_MAX = 64;

export interface HostnameDesired {
  readonly hostname: string;
}

/**
 * The validated name as is when the kernel can hold it; otherwise its first
 * label (at most 63 characters), which is what the host calls itself anyway.
 */
export function renderHostname(model: ConfigModel): HostnameDesired {
  const name = model.hostname;
  return { hostname: name.length <= KERNEL_HOSTNAME_MAX ? name : name.split('.')[0]! };
}
