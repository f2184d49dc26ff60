// The operator's tools against a running orchestrator and a real appliance:
// every astara-ctl command, the admin API's PUT routes and their status codes,
// debug mode for a router, a tenant and everything (an edit of the resource
// file does not reach the appliance until it is managed again), rebuild,
// the terminal UI driven in tmux, astara-debug-router and /metrics.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, httpFrom } from '../harness/agent.js';
import { run, waitFor } from '../harness/exec.js';
import { OrchestratorLab, type ResourceState } from '../harness/orchestrator.js';
import { externalNetwork, resourceFile, routerSpec } from '../harness/resources.js';

const external = externalNetwork();
const router = routerSpec(1);

/** The resource file with the external subnet's DNS servers set: an edit that changes the router's document. */
function fileWithDns(dns: string[]) {
  const file = resourceFile(external, [router]);
  const subnets = file.subnets.map((s) => (s.id === external.subnetId ? { ...s, dns_nameservers: dns } : s));
  return { ...file, subnets };
}

describe('operator tools', () => {
  let lab: OrchestratorLab;
  let dnsServer = 1;

  /** What the appliance itself holds (asked over its API from the orchestrator's namespace). */
  const held = async (): Promise<string[]> => {
    const view = (await lab.resource(router.routerId))!;
    const address = view.appliances[0]!.management_address!;
    const answer = await httpFrom(lab.topology, 'orch', 'GET', `http://[${address}]:5000/v1/system/config`);
    const document = answer.json<{ configuration: { networks: { network_id: string; subnets: { dns_nameservers: string[] }[] }[] } }>().configuration;
    return document.networks.find((n) => n.network_id === external.networkId)!.subnets[0]!.dns_nameservers;
  };
  /** Edit the file and return the DNS server the appliance should end up with. */
  const edit = async (): Promise<string> => {
    const dns = `192.0.2.${100 + dnsServer++}`;
    await lab.writeResources(fileWithDns([dns]));
    return dns;
  };
  const ctl = async (...args: string[]) => {
    const result = await lab.ctl(args);
    assert.equal(result.exitCode, 0, `astara-ctl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const skipped = (since: number, scope: string) =>
    lab.waitForLog(`the edit to be skipped (${scope} in debug mode)`, (l) => typeof l.msg === 'string' && l.msg.startsWith(`Skipping incoming event, ${scope}`), since);

  before(async () => {
    lab = await OrchestratorLab.create({ roles: [], resources: fileWithDns([]) });
    await lab.start();
    await lab.waitConfigured(router.routerId);
  });
  after(async () => {
    await lab?.destroy();
  });

  it('list and show print the router, as tables and as JSON', async () => {
    const table = await ctl('list');
    assert.match(table, new RegExp(router.routerId));
    assert.match(table, /configured/);
    const rows = JSON.parse(await ctl('list', '--json')) as ResourceState[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.instance_state]),
      [[router.routerId, 'configured']],
    );
    const shown = await ctl('show', router.routerId);
    assert.match(shown, /CheckBoot/, 'the recent transitions');
    const detail = JSON.parse(await ctl('show', router.routerId, '--json')) as ResourceState;
    assert.equal(detail.id, router.routerId);
    assert.ok(detail.last_push?.ok);
  });

  it('router debug stops a file edit from reaching the appliance until router manage', async () => {
    await ctl('router', 'debug', router.routerId, '--reason', 'looking into it');
    const view = (await lab.resource(router.routerId))!;
    assert.deepEqual(view.debug, { enabled: true, scope: 'resource', reason: 'looking into it' });
    const lines = await lab.logLines();
    const dns = await edit();
    await skipped(lines, 'resource');
    assert.deepEqual(await held(), [], 'the appliance did not get the edit');
    await ctl('router', 'manage', router.routerId);
    await waitFor('the edit to reach the appliance once managed', async () => (await held()).includes(dns), 30_000);
  });

  it('tenant debug does the same for every router of the tenant', async () => {
    await ctl('tenant', 'debug', router.tenantId, '--reason', 'tenant maintenance');
    assert.equal((await lab.resource(router.routerId))!.debug.scope, 'tenant');
    const lines = await lab.logLines();
    const dns = await edit();
    await skipped(lines, 'tenant');
    assert.ok(!(await held()).includes(dns));
    await ctl('tenant', 'manage', router.tenantId);
    await waitFor('the edit to reach the appliance once the tenant is managed', async () => (await held()).includes(dns), 30_000);
  });

  it('global debug holds everything until disabled', async () => {
    await ctl('global', 'debug', 'enable', '--reason', 'upgrade');
    const lines = await lab.logLines();
    const dns = await edit();
    await lab.waitForLog('the edit to be skipped (global debug)', (l) => typeof l.msg === 'string' && l.msg.startsWith('Skipping incoming event, cluster in global debug mode'), lines);
    assert.ok(!(await held()).includes(dns));
    await ctl('global', 'debug', 'disable');
    await waitFor('the edit to reach the appliance once global debug is off', async () => (await held()).includes(dns), 30_000);
  });

  it('router rebuild replaces the appliance with a new one', async () => {
    const before = (await lab.resource(router.routerId))!;
    await ctl('router', 'rebuild', router.routerId);
    const after = await lab.waitForResource(router.routerId, 'a rebuilt appliance', (r) => r.instance_state === 'configured' && r.queue_length === 0 && r.appliances[0]?.id !== before.appliances[0]!.id);
    assert.notEqual(after.appliances[0]!.details.agent_pid, before.appliances[0]!.details.agent_pid);
  });

  it('poll and workers debug answer and report', async () => {
    await ctl('poll');
    const lines = await lab.logLines();
    const report = await ctl('workers', 'debug');
    assert.match(report, /shard/i);
    await lab.waitForLog('the workers report in the log', (l) => typeof l.msg === 'string' && l.msg.startsWith('Number of state machines in work queue'), lines);
    await ctl('config', 'reload');
  });

  it('config reload refuses an invalid options file, names the option, and changes nothing', async () => {
    const original = await readFile(lab.iniFile, 'utf8');
    await writeFile(lab.iniFile, original.replace('health_check_period = 3600', 'health_check_period = -1'));
    try {
      const refused = await lab.ctl(['config', 'reload']);
      assert.notEqual(refused.exitCode, 0);
      assert.match(refused.stderr, /health_check_period/);
    } finally {
      await writeFile(lab.iniFile, original);
    }
    await ctl('config', 'reload');
  });

  it('astara-ctl fails clearly for an unknown router and an unreachable orchestrator', async () => {
    const unknown = await lab.ctl(['router', 'rebuild', randomUUID()]);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(unknown.stderr, /no resource/);
    const unreachable = await lab.topology.exec('orch', [process.execPath, join(REPO, 'bin/astara-ctl'), '--url', 'http://127.0.0.1:9', 'list'], { allowFailure: true });
    assert.notEqual(unreachable.exitCode, 0);
    assert.match(unreachable.stderr, /cannot reach the orchestrator/);
  });

  it('answers every admin PUT route as the original did, 404 for unknown paths and 405 for wrong methods', async () => {
    const id = router.routerId;
    for (const path of ['/poll/', '/workers/debug/', '/config/reload/', `/router/update/${id}`, `/resource/update/${id}/`, `/router/debug/${id}/--reason/api%20test`, `/router/manage/${id}`, `/tenant/debug/${router.tenantId}`, `/tenant/manage/${router.tenantId}`, '/global/debug/enable', '/global/debug/disable']) {
      const answer = await lab.api('PUT', path);
      assert.equal(answer.status, 200, `PUT ${path}: ${answer.body}`);
      assert.equal(answer.body, '0');
    }
    assert.equal((await lab.api('PUT', `/router/rebuild/${randomUUID()}`)).status, 404);
    assert.equal((await lab.api('PUT', '/no/such/command')).status, 404);
    assert.equal((await lab.api('PUT', '/global/debug/maybe')).status, 400);
    assert.equal((await lab.api('PUT', '/browse')).status, 501);
    const wrongMethod = await lab.api('GET', '/poll/');
    assert.equal(wrongMethod.status, 405);
    assert.equal((await lab.api('PUT', '/v1/resources')).status, 405);
    assert.equal((await lab.api('GET', '/v1/nothing')).status, 404);
    await lab.waitConfigured(router.routerId);
  });

  it('browse shows the router and debugs and manages the selected row from the keyboard', async () => {
    const session = `astara${process.pid}`;
    const command = ['ip', 'netns', 'exec', lab.topology.ns('orch'), process.execPath, join(REPO, 'bin/astara-ctl'), '--url', 'http://[::1]:44250', 'browse', '--interval', '0.5'];
    await run(['tmux', 'new-session', '-d', '-s', session, '-x', '200', '-y', '40', ...command]);
    try {
      const screen = async () => (await run(['tmux', 'capture-pane', '-p', '-t', session], { allowFailure: true })).stdout;
      let lastScreen = '';
      await waitFor('the router on the browse screen', async () => (lastScreen = await screen()).includes(router.routerId.slice(0, 8)), 15_000).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; the screen showed:\n${lastScreen}`);
      });
      await run(['tmux', 'send-keys', '-t', session, 'd']);
      await lab.waitForResource(router.routerId, 'debug mode from browse', (r) => r.debug.enabled);
      await run(['tmux', 'send-keys', '-t', session, 'm']);
      await lab.waitForResource(router.routerId, 'managed again from browse', (r) => !r.debug.enabled);
      await run(['tmux', 'send-keys', '-t', session, 'q']);
      await waitFor('browse to quit', async () => (await run(['tmux', 'has-session', '-t', session], { allowFailure: true })).exitCode !== 0);
    } finally {
      await run(['tmux', 'kill-session', '-t', session], { allowFailure: true });
    }
  });

  it('astara-debug-router runs one update in the foreground and leaves the router in debug mode', async () => {
    await lab.waitConfigured(router.routerId);
    const result = await lab.topology.exec('orch', [process.execPath, join(REPO, 'bin/astara-debug-router'), '--router-id', router.routerId, '--config-file', lab.iniFile], { allowFailure: true, timeoutMs: 120_000 });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /CalcAction\s+-> Alive/);
    assert.match(result.stdout, /final: state machine CalcAction, appliance configured/);
    assert.match(result.stderr, /debug mode/);
    assert.equal((await lab.resource(router.routerId))!.debug.reason, 'astara-debug-router');
    await ctl('router', 'manage', router.routerId);
  });

  it('ssh runs a command inside the appliance: its network, mount and UTS namespaces', async () => {
    const result = await lab.ctl(['ssh', router.routerId, 'sh', '-c', 'hostname; ip -o link show eth0']);
    assert.equal(result.exitCode, 0, result.stderr);
    const [hostname, link] = result.stdout.split('\n');
    assert.equal(hostname, `ak-${router.tenantId}`, 'the host name the agent set, not the host\'s');
    assert.match(link ?? '', /eth0/);
  });

  it('exposes Prometheus metrics', async () => {
    const metrics = await lab.api('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^astara_orchestrator_pushes_total\{result="ok"\} [1-9]/m);
    assert.match(metrics.body, /^astara_orchestrator_resources_by_instance_state\{instance_state="configured"\} 1$/m);
    assert.match(metrics.body, /^astara_orchestrator_boots_total\{driver="router"\} [1-9]/m);
    assert.match(metrics.body, /^astara_orchestrator_push_duration_seconds_count [1-9]/m);
    assert.match(metrics.body, /^astara_orchestrator_poll_duration_seconds_count\{alive="true"\} [1-9]/m);
    assert.match(metrics.body, /^astara_orchestrator_queue_length\{shard="0"\} 0$/m);
    assert.match(metrics.body, /^astara_orchestrator_process_resident_memory_bytes [1-9]/m);
  });

  it('with stop_appliances_on_exit, stopping the orchestrator stops every appliance and removes its bridges', async () => {
    const original = await readFile(lab.iniFile, 'utf8');
    await writeFile(lab.iniFile, original.replace('[local]\n', '[local]\nstop_appliances_on_exit = true\n'));
    await lab.stop();
    await lab.start();
    await lab.waitConfigured(router.routerId);
    await lab.stop();
    assert.ok(!(await lab.namespaces()).includes(`ak-router-${router.routerId}`), 'the appliance is gone');
    assert.deepEqual(await lab.hostLinks('brq'), [], 'the bridges are gone');
  });
});
