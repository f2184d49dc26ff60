// The whole router, end to end: one document pushed to a real agent makes the
// lab route, NAT, serve DHCP and metadata, and report its traffic; a failed
// apply leaves the host exactly as it was; an agent killed outright comes
// back with the same data plane.
import assert from 'node:assert/strict';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { DhcpClient } from '../harness/dhclient.js';
import { waitFor } from '../harness/exec.js';
import { seenAs, startEchoServer, startMetadataServer } from '../harness/servers.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Doc {
  tenant_id: string;
  floating_ips: { floating_ip: string; fixed_ip: string }[];
  static_routes: unknown[];
  networks: { network_id: string; network_type: string; allocations: { ip_addresses: Record<string, boolean>; device_id: string }[] }[];
}
interface Report {
  ok: boolean;
  steps: { subsystem: string; changed: boolean; commands: number }[];
}

const GUEST_A = '198.51.100.10';
const GUEST_B = '198.51.100.74';
const FLOATING_B = '203.0.113.11';
const ROUTER_EXT = '192.0.2.2';

describe('the router end to end', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;

  const put = async (body: object, expected = 200) => {
    const answer = await agent.request('PUT', '/v1/system/config', { body });
    assert.equal(answer.status, expected, answer.body);
    return answer;
  };
  const report = async () => (await agent.request('GET', '/v1/system/apply')).json<{ report: Report }>().report;
  /** Everything a failed apply must leave untouched, with counters removed. */
  const snapshot = async () => {
    const read = async (argv: string[]) => (await lab.exec('router', argv)).stdout;
    const strip = (save: string) => save.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
    // DAD state is the kernel's own and changes by itself within a second of an address's creation.
    const addresses = JSON.parse(await read(['ip', '-j', 'addr', 'show'])) as { addr_info: { tentative?: boolean }[] }[];
    for (const link of addresses) for (const a of link.addr_info) delete a.tentative;
    return {
      addresses,
      routes4: JSON.parse(await read(['ip', '-j', '-4', 'route', 'show', 'table', 'all'])) as unknown,
      routes6: JSON.parse(await read(['ip', '-j', '-6', 'route', 'show', 'table', 'all'])) as unknown,
      iptables: strip(await read(['iptables-save'])),
      ip6tables: strip(await read(['ip6tables-save'])),
    };
  };

  before(async () => {
    lab = await routerLab();
    await startEchoServer(lab, 'ext', LAB.ext.v4);
    await startMetadataServer(lab, 'mgmt', LAB.mgmtPeer);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    doc = JSON.parse(await readFile(join(REPO, 'docs/examples/router.json'), 'utf8')) as Doc;
    await put(doc);
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('gives each guest its address and host name by DHCP', async () => {
    for (const [role, address, name] of [['ta', GUEST_A, 'host-a'], ['tb', GUEST_B, 'host-b']] as const) {
      const { lease } = await new DhcpClient(lab, role).lease();
      assert.equal(lease?.address, address);
      assert.match(lease?.options['host-name'] ?? '', new RegExp(`^${name}`));
    }
  });

  it('NATs a guest to the router address, and a floating IP 1:1 both ways, hairpin included', async () => {
    assert.equal(await seenAs(lab, 'ta', `http://${LAB.ext.v4}:8080/`), ROUTER_EXT);
    assert.equal(await seenAs(lab, 'tb', `http://${LAB.ext.v4}:8080/`), FLOATING_B);
    await startEchoServer(lab, 'tb', GUEST_B);
    assert.equal(await seenAs(lab, 'ext', `http://${FLOATING_B}:8080/`), LAB.ext.floatingGateway);
    // Hairpin: guest A reaches guest B through B's floating IP.
    assert.ok(await seenAs(lab, 'ta', `http://${FLOATING_B}:8080/`));
  });

  it('serves metadata with the identity of the guest, whatever headers it sends', async () => {
    const answer = await lab.exec('ta', ['curl', '-sS', '--max-time', '5', '-H', 'X-Instance-ID: forged', '-H', 'X-Tenant-ID: forged', 'http://169.254.169.254/latest/meta-data/instance-id']);
    const seen = JSON.parse(answer.stdout) as { path: string; forwarded_for: string; instance_id: string; tenant_id: string; network_id: string };
    assert.equal(seen.path, '/latest/meta-data/instance-id');
    assert.equal(seen.forwarded_for, GUEST_A);
    assert.equal(seen.instance_id, doc.networks[2]!.allocations[0]!.device_id);
    assert.equal(seen.tenant_id, doc.tenant_id);
    assert.equal(seen.network_id, doc.networks[2]!.network_id);
    const notFound = await lab.exec('ta', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', 'http://169.254.169.254/x/404']);
    assert.equal(notFound.stdout, '404');
    const failed = await lab.exec('ta', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', 'http://169.254.169.254/x/500']);
    assert.equal(failed.stdout, '500');
  });

  it('keeps answering metadata during a re-push, and a moved address gets its new device id', async () => {
    const url = 'http://169.254.169.254/latest/meta-data/instance-id';
    // About 1.5 s of requests, one every 5 ms, from the guest, while the map changes.
    const requests = lab.exec('ta', ['curl', '-sS', '--rate', '200/s', '--max-time', '5', '-w', '\\n%{http_code}\\n', ...Array<string>(300).fill(url)], { allowFailure: true });
    const moved = structuredClone(doc);
    moved.networks[2]!.allocations[0]!.device_id = '00000000-0000-4000-8000-0000000000a1';
    await put(moved);
    const lines = (await requests).stdout.split('\n');
    const codes = lines.filter((l) => /^\d{3}$/.test(l));
    assert.equal(codes.length, 300);
    assert.deepEqual([...new Set(codes)], ['200'], 'every request answered during the re-push');
    const ids = new Set(lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { instance_id: string }).instance_id));
    assert.ok(ids.has('00000000-0000-4000-8000-0000000000a1'), 'the new map took effect while requests flowed');
    const after = JSON.parse((await lab.exec('ta', ['curl', '-sS', '--max-time', '5', url])).stdout) as { instance_id: string };
    assert.equal(after.instance_id, '00000000-0000-4000-8000-0000000000a1');
    await put(doc);
  });

  it('reports the traffic per interface and per floating IP', async () => {
    assert.equal(await seenAs(lab, 'ext', `http://${FLOATING_B}:8080/`), LAB.ext.floatingGateway);
    const stats = (await agent.request('GET', '/v1/system/stats')).json<{
      interfaces: Record<string, { rx_bytes: number; tx_bytes: number }>;
      floating_ips: { floating_ip: string; bytes_in: number; bytes_out: number }[];
      conntrack_entries: number | null;
    }>();
    assert.ok(stats.interfaces.ge1!.rx_bytes > 0 && stats.interfaces.ge3!.tx_bytes > 0);
    const fip = stats.floating_ips.find((f) => f.floating_ip === FLOATING_B);
    assert.ok(fip && fip.bytes_in > 0 && fip.bytes_out > 0, JSON.stringify(stats.floating_ips));
    const metrics = await agent.request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    const inbound = new RegExp(`^astara_floating_ip_bytes\\{floating_ip="${FLOATING_B}",direction="in"\\} (\\d+)$`, 'm').exec(metrics.body);
    assert.ok(inbound && Number(inbound[1]) > 0, 'floating IP bytes in /metrics');
    assert.match(metrics.body, /^astara_interface_bytes\{interface="ge1",direction="rx"\} [1-9]/m);
    assert.match(metrics.body, /^astara_api_requests_total\{method="PUT",route="\/v1\/system\/config",status="200"\} [1-9]/m);
    assert.match(metrics.body, /^astara_apply_duration_seconds_count [1-9]/m);
  });

  it('runs no command when the same document is pushed again', async () => {
    await put(doc);
    const { steps, ok } = await report();
    assert.ok(ok);
    const busy = steps.filter((s) => s.subsystem !== 'persist' && (s.commands > 0 || s.changed));
    assert.deepEqual(busy, []);
  });

  it('leaves the host exactly as it was when an apply fails, and answers 500 naming the step', async () => {
    const before = await snapshot();
    const changed = structuredClone(doc);
    changed.floating_ips = [];
    changed.static_routes = [];
    changed.networks[3]!.allocations[0]!.ip_addresses = { '198.51.100.75': true };
    // Make the last step (persisting the document) fail: a directory where
    // the agent writes its temporary file.
    const blocker = join(agent.stateDir, `applied.json.tmp-${agent.pid}`);
    await mkdir(blocker);
    try {
      const answer = await put(changed, 500);
      assert.match(answer.body, /persist/);
    } finally {
      await rmdir(blocker);
    }
    assert.deepEqual(await snapshot(), before);
    assert.equal((await report()).ok, false);
    assert.equal(await seenAs(lab, 'ext', `http://${FLOATING_B}:8080/`), LAB.ext.floatingGateway, 'the floating IP still works');
  });

  it('comes back with the same data plane after the agent is killed', async () => {
    await agent.kill();
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
    const get = await agent.request('GET', '/v1/system/config');
    assert.deepEqual(get.json<{ configuration: unknown }>().configuration, doc);
    assert.equal(await seenAs(lab, 'ta', `http://${LAB.ext.v4}:8080/`), ROUTER_EXT);
    assert.equal(await seenAs(lab, 'ext', `http://${FLOATING_B}:8080/`), LAB.ext.floatingGateway);
    const { lease } = await new DhcpClient(lab, 'ta').lease();
    assert.equal(lease?.address, GUEST_A, 'DHCP served by the new agent');
  });

  it('says the external gateway is reachable, and not once it is gone', async () => {
    const status = async () => (await agent.request('GET', '/v1/status/')).json<{ v4: boolean; v6: boolean }>();
    await waitFor('v4 reachable', async () => (await status()).v4);
    await lab.ip('ext', ['addr', 'del', '192.0.2.1/24', 'dev', 'ext0']);
    await waitFor('v4 unreachable once the gateway is gone', async () => !(await status()).v4, 20_000);
    await lab.ip('ext', ['addr', 'add', '192.0.2.1/24', 'dev', 'ext0']);
  });
});
