// The operator console in a real browser: Debian's headless Chromium, driven
// by playwright-core, in the orchestrator's namespace, against a running
// orchestrator with the local provider and real appliances. The admin API
// listens beyond loopback (the orchestrator's management address), so it
// requires its token. The fleet view lists the routers; a killed agent shows
// on the open page, and its recovery, without a reload; the rebuild button
// gives a new agent; debug with a reason and manage; a name made of HTML is
// shown as text; without the token the actions are refused. Screenshots of
// the fleet and resource views go to build/.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO } from '../harness/agent.js';
import { waitFor } from '../harness/exec.js';
import { API_PORT, ORCHESTRATOR_ADDRESS, OrchestratorLab } from '../harness/orchestrator.js';
import { externalNetwork, resourceFile, routerSpec } from '../harness/resources.js';
import { signal } from '../harness/topology.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = `console-${randomUUID()}`;
const HOSTILE_NAME = '<img src=x onerror=window.__xss=1><b>bold</b> & <script>window.__xss=2</script>';
const SCREENSHOTS = join(REPO, 'build');

const external = externalNetwork();
const plain = routerSpec(1, '192.0.2.2');
const hostile = routerSpec(0, '192.0.2.3');
const floatingIp = { id: randomUUID(), address: '192.0.2.50', routerId: plain.routerId, portId: plain.tenants[0]!.guestPortId, fixedAddress: plain.tenants[0]!.guestAddress };

function resources() {
  const file = resourceFile(external, [plain, hostile], [floatingIp]);
  return { ...file, routers: file.routers.map((r) => (r.id === hostile.routerId ? { ...r, name: HOSTILE_NAME } : r)) };
}

const row = (id: string) => `tr[data-id="${id}"]`;
const cellText = (page: Page, selector: string) => page.locator(selector).first().textContent({ timeout: 5000 });

describe('operator console in a browser', { timeout: 300_000 }, () => {
  let lab: OrchestratorLab;
  let browser: Browser | undefined;
  let page: Page;
  const consoleUrl = `http://[${ORCHESTRATOR_ADDRESS}]:${API_PORT}/ui/`;
  const errors: string[] = [];

  before(async () => {
    lab = await OrchestratorLab.create({
      roles: [],
      resources: resources(),
      api: { listen: ORCHESTRATOR_ADDRESS, token: TOKEN },
      ini: { DEFAULT: { health_check_period: 3 } },
    });
    await lab.start();
    await Promise.all([lab.waitConfigured(plain.routerId), lab.waitConfigured(hostile.routerId)]);
    // The browser joins the orchestrator's namespace, where the management address is.
    const wrapper = join(lab.dir, 'chromium');
    await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${lab.topology.ns('orch')} -- ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await lab?.destroy();
  });

  it('asks for the token, and refuses an action without it', async () => {
    await page.goto(`${consoleUrl}#/resource/${plain.routerId}`);
    await page.locator('[data-role="token-form"]:not(.hidden)').waitFor({ timeout: 10_000 });
    const pid = await lab.agentPid(plain.routerId);
    await page.locator('button[data-action="rebuild"]').click();
    await page.locator('[data-role="message"]', { hasText: 'unauthorized' }).waitFor({ timeout: 10_000 });
    // The API itself, asked from the page without the token.
    const status = await page.evaluate<number>(`fetch('/resource/rebuild/${plain.routerId}', { method: 'PUT' }).then((answer) => answer.status)`);
    assert.equal(status, 401);
    // Nothing reached the core, and the appliance is the same.
    const commands = (await lab.log()).split('\n').filter((line) => line.includes('"msg":"operator command"'));
    assert.deepEqual(commands, []);
    const view = await lab.resource(plain.routerId);
    assert.equal(view?.appliances[0]?.details.agent_pid, pid);
    assert.equal(view?.instance_state, 'configured');
  });

  it('lists the routers of the resource file with their states once the token is given', async () => {
    await page.locator('[data-role="token"]').fill(TOKEN);
    await page.locator('[data-role="token-form"] button').click();
    await page.goto(`${consoleUrl}#/`);
    await page.locator('[data-role="live"]', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    await page.locator('[data-role="token-form"]').waitFor({ state: 'hidden', timeout: 5000 });
    for (const id of [plain.routerId, hostile.routerId]) {
      await page.locator(`${row(id)} td[data-field="instance_state"]`, { hasText: 'configured' }).waitFor({ timeout: 10_000 });
      assert.equal(await cellText(page, `${row(id)} td[data-field="state"]`), 'CalcAction');
      assert.equal(await cellText(page, `${row(id)} td[data-field="driver"]`), 'router');
    }
    assert.match((await cellText(page, '[data-role="counts"] [data-count="configured"]')) ?? '', /^2 configured/);
  });

  it('shows a resource name made of HTML as text', async () => {
    const link = page.locator(`${row(hostile.routerId)} td[data-field="id"] a`);
    assert.equal(await link.textContent(), HOSTILE_NAME);
    assert.equal(await page.locator('table.resources img, table.resources b, table.resources script').count(), 0);
    assert.equal(await page.evaluate<string>('typeof window.__xss'), 'undefined');
  });

  it('filters by search and by state', async () => {
    await page.locator('[data-role="search"]').fill(hostile.routerId.slice(0, 13));
    await waitFor('one row left', async () => (await page.locator('table.resources tbody tr[data-id]').count()) === 1);
    await page.locator('[data-role="search"]').fill('');
    await page.locator('[data-role="counts"] [data-count="debug"]').click();
    await waitFor('no row in debug', async () => (await page.locator('table.resources tbody tr[data-id]').count()) === 0);
    await page.locator('[data-role="counts"] [data-count="debug"]').click();
    await waitFor('both rows back', async () => (await page.locator('table.resources tbody tr[data-id]').count()) === 2);
  });

  it('shows a killed agent and its recovery on the open page, without a reload', async () => {
    await page.evaluate('window.__sameDocument = true');
    const state = `${row(plain.routerId)} td[data-field="instance_state"]`;
    const pid = await lab.agentPid(plain.routerId);
    signal(pid, 'SIGKILL');
    let seen: string | null = 'configured';
    await waitFor(
      'the page to show the appliance is not configured',
      async () => {
        seen = await cellText(page, state);
        return seen !== 'configured';
      },
      30_000,
    );
    await page.locator(state, { hasText: /^configured$/ }).waitFor({ timeout: 90_000 });
    assert.notEqual(await lab.agentPid(plain.routerId), pid);
    assert.equal(await page.evaluate<boolean>('window.__sameDocument === true'), true, 'the page was not reloaded');
    assert.notEqual(seen, 'configured');
    await page.screenshot({ path: join(SCREENSHOTS, 'console-fleet.png'), clip: { x: 0, y: 0, width: 1400, height: 360 } });
  });

  it('shows the resource: timeline, appliance status, graphs and the last document', async () => {
    await page.locator(`${row(plain.routerId)} td[data-field="id"] a`).click();
    await page.locator('section[data-view="resource"] [data-role="timeline"] li').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-agent] [data-field="generation"]').first().waitFor({ timeout: 10_000 });
    assert.match((await cellText(page, '[data-agent] [data-field="generation"]')) ?? '', /^\d+$/);
    assert.ok((await page.locator('[data-agent] [data-role="daemons"] tbody tr').count()) > 0, 'the daemons the agent supervises');
    assert.match((await cellText(page, '[data-agent] [data-field="gateway_v4"]')) ?? '', /reachable/);
    assert.match((await page.locator('pre.json').last().textContent()) ?? '', /"networks"/);
    // Samples come on each health poll (3 s), and the page reads them again every 10 s: the graphs appear once there are two.
    await page.locator('figure[data-chart="Interfaces"] canvas').waitFor({ timeout: 30_000 });
    await page.locator('figure[data-chart="Floating IPs"] canvas').waitFor({ timeout: 30_000 });
  });

  it('rebuild gives a new appliance (a new agent process)', async () => {
    const pid = await lab.agentPid(plain.routerId);
    await page.locator('button[data-action="rebuild"]').click();
    await page.locator('[data-role="message"]', { hasText: 'rebuild: accepted' }).waitFor({ timeout: 10_000 });
    await lab.waitForResource(plain.routerId, 'a new agent', (r) => r.appliances[0]?.details.agent_pid !== pid && r.instance_state === 'configured', 90_000);
    const fresh = String(await lab.agentPid(plain.routerId));
    await page.locator('td[data-field="agent_pid"]', { hasText: fresh }).waitFor({ timeout: 10_000 });
  });

  it('debug with a reason shows the flag and the reason; manage clears it', async () => {
    const reason = 'maintenance <window> & "quotes"';
    await page.locator('[data-role="reason"]').fill(reason);
    await page.locator('button[data-action="debug"]').click();
    await page.locator('dd[data-field="debug"]', { hasText: reason }).waitFor({ timeout: 10_000 });
    assert.equal((await lab.resource(plain.routerId))?.debug.reason, reason);
    // The new agent's own account, once it holds its document.
    await page.locator('[data-agent] [data-field="generation"]', { hasText: /^[1-9]/ }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'console-resource.png'), fullPage: true });
    await page.goto(`${consoleUrl}#/`);
    await page.locator(`${row(plain.routerId)} td[data-field="debug"]`, { hasText: reason }).waitFor({ timeout: 10_000 });
    await page.goto(`${consoleUrl}#/resource/${plain.routerId}`);
    await page.locator('button[data-action="manage"]').click();
    await page.locator('dd[data-field="debug"]', { hasText: 'managed' }).waitFor({ timeout: 10_000 });
    assert.equal((await lab.resource(plain.routerId))?.debug.enabled, false);
  });

  it('shows the workers', async () => {
    await page.goto(`${consoleUrl}#/workers`);
    await page.locator('table.shards tbody tr[data-shard]').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('table.shards tbody tr[data-shard]').count(), 4);
    assert.deepEqual(errors, []);
  });
});
