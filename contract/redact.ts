// The VPN's pre-shared keys are the one secret a document carries: every
// answer that shows a document (the agent's API, the orchestrator's admin API
// and console) shows them replaced, so the PSK is readable only where charon
// needs it (swanctl.conf, mode 0600).
export const REDACTED = '<redacted>';

/** A copy of `document` with every `vpn.ipsec[].ipsec_connections[].psk` replaced. */
export function redactSecrets(document: unknown): unknown {
  if (typeof document !== 'object' || document === null) return document;
  const vpn = (document as { vpn?: { ipsec?: unknown } }).vpn;
  if (!vpn || !Array.isArray(vpn.ipsec)) return document;
  const ipsec = vpn.ipsec.map((service: unknown) => {
    if (typeof service !== 'object' || service === null) return service;
    const connections = (service as { ipsec_connections?: unknown }).ipsec_connections;
    if (!Array.isArray(connections)) return service;
    return {
      ...service,
      ipsec_connections: connections.map((c: unknown) => (typeof c === 'object' && c !== null && 'psk' in c ? { ...c, psk: REDACTED } : c)),
    };
  });
  return { ...document, vpn: { ...vpn, ipsec } };
}
