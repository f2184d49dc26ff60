// Health and failure, with a real health check period: an appliance whose
// agent dies is replaced by the periodic poll alone; an appliance that never
// answers is booted `reboot_error_threshold` times, then the router is in
// ERROR, stays there through the cool-down whatever it is sent, and comes
// back with `astara-ctl router rebuild` afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/exec.js';
import { deterministicMac, eui64Address } from '../../orchestrator/providers/local/network.js';
import { MANAGEMENT_PREFIX, OrchestratorLab } from '../harness/orchestrator.js';
import { externalNetwork, resourceFile, routerSpec } from '../harness/resources.js';
import { alive, signal } from '../harness/topology.js';

const HEALTH_CHECK_PERIOD_S = 2;
const BOOT_TIMEOUT_S = 3;
const COOLDOWN_S = 8;

const external = externalNetwork();
const healthy = routerSpec(1, '192.0.2.2');
const failing = routerSpec(1, '192.0.2.3');

describe('health checks and boot failures', () => {
  let lab: OrchestratorLab;
  /** The failing router's appliance address: the local provider derives it from the router id. */
  const failingAddress = eui64Address(MANAGEMENT_PREFIX, deterministicMac(`mgmt:router:${failing.routerId}:0`));
  const firewall = (action: '-I' | '-D') =>
    lab.topology.exec('orch', ['ip6tables', action, 'OUTPUT', '-d', failingAddress, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']);

  before(async () => {
    lab = await OrchestratorLab.create({
      roles: [],
      resources: resourceFile(external, [healthy]),
      ini: {
        DEFAULT: {
          health_check_period: HEALTH_CHECK_PERIOD_S,
          boot_timeout: BOOT_TIMEOUT_S,
          reboot_error_threshold: 2,
          error_state_cooldown: COOLDOWN_S,
        },
      },
    });
    await lab.start();
    await lab.waitConfigured(healthy.routerId);
  });
  after(async () => {
    await lab?.destroy();
  });

  it('replaces an appliance whose agent died, on the periodic health check alone', async () => {
    const before = (await lab.resource(healthy.routerId))!;
    const pid = await lab.agentPid(healthy.routerId);
    const killedAt = Date.now();
    signal(pid, 'SIGKILL');
    await waitFor('the agent to die', () => !alive(pid));
    const after = await lab.waitForResource(healthy.routerId, 'a new appliance', (r) => r.instance_state === 'configured' && r.queue_length === 0 && r.appliances[0]?.id !== before.appliances[0]!.id, 60_000);
    const seconds = (Date.now() - killedAt) / 1000;
    assert.notEqual(after.appliances[0]!.details.agent_pid, pid);
    // One period at most before the poll notices, then a boot and a push.
    assert.ok(seconds < HEALTH_CHECK_PERIOD_S + 30, `replaced after ${seconds.toFixed(1)} s`);
  });

  it('an appliance that never answers goes to ERROR after reboot_error_threshold boots', async () => {
    // The orchestrator's packets to the new router's appliance are refused:
    // it boots, but can never be reached (as a VM on a broken hypervisor).
    await firewall('-I');
    await lab.writeResources(resourceFile(external, [healthy, failing]));
    const view = await lab.waitForResource(failing.routerId, 'ERROR', (r) => r.instance_state === 'error', 60_000);
    assert.equal(view.boot_attempts, 2);
    assert.match(view.last_error?.message ?? '', /2 boot attempts failed; the last one: the appliance did not answer within boot_timeout/);
    assert.deepEqual(view.appliances, [], 'the silent appliance was not left running');
    const boots = (view.transitions ?? []).filter((t) => t.to === 'CreateInstance').length;
    assert.ok(boots >= 2, `${boots} boots`);
  });

  it('stays in ERROR through the cool-down, whatever it is sent', async () => {
    const lines = await lab.logLines();
    const result = await lab.ctl(['router', 'rebuild', failing.routerId]);
    assert.equal(result.exitCode, 0);
    await lab.waitForLog('the rebuild to be ignored', (l) => l.msg === 'Resource is in ERROR cooldown, ignoring event.' && l.resource === failing.routerId, lines);
    const view = (await lab.resource(failing.routerId))!;
    assert.equal(view.instance_state, 'error');
    assert.deepEqual(view.appliances, []);
  });

  it('comes back with router rebuild once the cool-down is over and the cause is gone', async () => {
    await firewall('-D');
    const erroredAt = Date.parse((await lab.resource(failing.routerId))!.last_error!.at);
    await waitFor('the cool-down to pass', () => Date.now() - erroredAt > COOLDOWN_S * 1000, (COOLDOWN_S + 5) * 1000);
    assert.equal((await lab.resource(failing.routerId))!.instance_state, 'error', 'health polls do not clear an error');
    const result = await lab.ctl(['router', 'rebuild', failing.routerId]);
    assert.equal(result.exitCode, 0);
    await lab.waitConfigured(failing.routerId);
    await lab.waitConfigured(healthy.routerId);
  });
});
