// The probes of the active health monitors, one per monitor type, as Octavia
// makes them: TCP is a connect (node:net); HTTP and HTTPS are one request on
// a fresh connection (undici), HTTPS without verifying the member's
// certificate; PING is one `ping` process. Every probe resolves, with the
// reason an operator reads in the member's status.
import { connect } from 'node:net';
import { execa } from 'execa';
import type { Dispatcher } from 'undici';
import type { ParsedAddress } from '../../../contract/ip.js';
import type { MonitorTarget, Prober, ProbeResult } from './monitor.js';

/**
 * Socket errors that say the appliance itself cannot send to the member (no
 * route to its network, no usable source address, its own firewall): the
 * probe could not be made, which says nothing about the member. An
 * EHOSTUNREACH is not among them: on the member's own network it means that
 * nothing answers for the address, the usual sign of a stopped member.
 */
const APPLIANCE_SIDE = new Set(['ENETUNREACH', 'EADDRNOTAVAIL', 'EPERM', 'EACCES']);

/** `expected_codes` (`200`, `200,202`, `200-204`; validated by the contract) as inclusive ranges. */
export function parseExpectedCodes(codes: string): readonly (readonly [number, number])[] {
  return codes.split(',').map((part) => {
    const [low, high] = part.split('-');
    return [Number(low), Number(high ?? low)] as const;
  });
}

export function expects(codes: string, status: number): boolean {
  return parseExpectedCodes(codes).some(([low, high]) => status >= low && status <= high);
}

/** `address:port`, the IPv6 address in brackets. */
export function authority(address: ParsedAddress, port: number): string {
  return `${address.family === 6 ? `[${address.text}]` : address.text}:${port}`;
}

/** The ping command of one PING probe: one echo request, waiting `timeoutMs` (whole seconds, at least one) for the reply. */
export function pingArgv(address: ParsedAddress, timeoutMs: number): string[] {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return ['ping', '-c', '1', '-W', String(seconds), '-n', ...(address.family === 6 ? ['-6'] : []), address.text];
}

function secondsText(ms: number): string {
  return `${ms / 1000} s`;
}

/**
 * An abort signal that fires after `timeoutMs` or when `cancel` does, and
 * says which. (AbortSignal.any and AbortSignal.timeout's reasons would do it
 * on Node 20; the appliance runs Node 18.)
 */
function deadline(timeoutMs: number, cancel: AbortSignal | undefined): { signal: AbortSignal; timedOut(): boolean; dispose(): void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort();
  }, timeoutMs);
  timer.unref();
  const onCancel = (): void => {
    controller.abort();
  };
  if (cancel?.aborted) controller.abort();
  else cancel?.addEventListener('abort', onCancel, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    dispose: () => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    },
  };
}

function stringField(err: unknown, field: 'code' | 'syscall'): string | undefined {
  if (typeof err !== 'object' || err === null || !(field in err)) return undefined;
  const value = (err as Record<typeof field, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** The result of a probe that threw: a timeout, an appliance-side error or the member's failure. */
function thrown(err: unknown, target: MonitorTarget, timeoutMs: number, timedOut: boolean, prefix: string): ProbeResult {
  if (timedOut) return { ok: false, reason: `${prefix}timed out after ${secondsText(timeoutMs)}` };
  const code = stringField(err, 'code');
  const syscall = stringField(err, 'syscall');
  // A system error in Node's own words ("connect ECONNREFUSED 198.51.100.21:8080")
  // without the local-address suffix some of them carry.
  const message = syscall && code ? `${syscall} ${code} ${authority(target.address, target.port)}` : err instanceof Error ? err.message : String(err);
  return { ok: false, reason: `${prefix}${message}`, ...(APPLIANCE_SIDE.has(code ?? '') ? { error: true } : {}) };
}

function probeTcp(target: MonitorTarget, timeoutMs: number, cancel: AbortSignal | undefined): Promise<ProbeResult> {
  const limit = deadline(timeoutMs, cancel);
  return new Promise<ProbeResult>((resolve) => {
    const socket = connect({ host: target.address.text, port: target.port, signal: limit.signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, reason: `connected to ${authority(target.address, target.port)}` });
    });
    socket.once('error', (err) => {
      resolve(thrown(err, target, timeoutMs, limit.timedOut(), ''));
    });
  }).finally(() => {
    limit.dispose();
  });
}

async function probeHttp(target: MonitorTarget, timeoutMs: number, cancel: AbortSignal | undefined): Promise<ProbeResult> {
  const { type, httpMethod, urlPath, expectedCodes } = target.monitor;
  const host = authority(target.address, target.port);
  const request = `${type} ${httpMethod} ${urlPath}`;
  const limit = deadline(timeoutMs, cancel);
  // A client of its own per probe: no connection or per-origin state is kept
  // between probes (an undici Agent would keep one pool per member forever).
  // undici is loaded with the first HTTP probe: an agent without a load balancer never needs it.
  const { Client } = await import('undici');
  const client = new Client(`${type === 'HTTPS' ? 'https' : 'http'}://${host}`, type === 'HTTPS' ? { connect: { rejectUnauthorized: false } } : {});
  try {
    const options = { path: urlPath, headers: { host }, signal: limit.signal };
    let status: number;
    if (httpMethod === 'CONNECT') {
      // undici's request() refuses CONNECT; connect() sends it and answers
      // with the status of any reply, then hands over the tunnel's socket.
      const tunnel = await client.connect(options);
      tunnel.socket.destroy();
      status = tunnel.statusCode;
    } else {
      // The contract admits only the methods of Octavia's list, all of them HTTP methods.
      const response = await client.request({ ...options, method: httpMethod as Dispatcher.HttpMethod });
      await response.body.dump();
      status = response.statusCode;
    }
    return expects(expectedCodes, status)
      ? { ok: true, reason: `${request} answered ${status}` }
      : { ok: false, reason: `${request} answered ${status}, expected ${expectedCodes}` };
  } catch (err) {
    return thrown(err, target, timeoutMs, limit.timedOut(), `${request}: `);
  } finally {
    limit.dispose();
    await client.destroy();
  }
}

async function probePing(target: MonitorTarget, timeoutMs: number, cancel: AbortSignal | undefined): Promise<ProbeResult> {
  const [file, ...args] = pingArgv(target.address, timeoutMs);
  // ping's own -W ends it; the time limit only guards against a ping that hangs.
  const limitMs = timeoutMs + 1000;
  const result = await execa(file!, args, { reject: false, stdin: 'ignore', timeout: limitMs, env: { LC_ALL: 'C' }, ...(cancel ? { cancelSignal: cancel } : {}) });
  if (result.exitCode === 0) return { ok: true, reason: `echo reply from ${target.address.text}` };
  if (result.timedOut) return { ok: false, reason: `timed out after ${secondsText(timeoutMs)}` };
  if (result.exitCode === undefined) {
    return { ok: false, error: true, reason: stringField(result.cause, 'code') === 'ENOENT' ? 'the ping command is not installed' : (result.shortMessage ?? 'ping could not be started') };
  }
  // 1: no reply, or an ICMP error from the member's network ("Destination Host Unreachable").
  if (result.exitCode === 1) {
    const icmpError = result.stdout.split('\n').find((line) => line.startsWith('From '));
    return { ok: false, reason: icmpError ?? `no echo reply from ${target.address.text} within ${secondsText(timeoutMs)}` };
  }
  // 2 and others: ping could not send ("connect: Network is unreachable").
  const complaint = (result.stderr || result.stdout).trim().split('\n').pop();
  return { ok: false, error: true, reason: complaint || `ping exited ${result.exitCode}` };
}

/** The probes the agent makes: the real network, the real ping. */
export const systemProber: Prober = {
  probe(target, timeoutMs, signal) {
    switch (target.monitor.type) {
      case 'TCP':
        return probeTcp(target, timeoutMs, signal);
      case 'HTTP':
      case 'HTTPS':
        return probeHttp(target, timeoutMs, signal);
      case 'PING':
        return probePing(target, timeoutMs, signal);
    }
  },
};
