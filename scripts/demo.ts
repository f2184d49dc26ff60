// `npm run demo`: the product at work in a throwaway namespace sandbox.
//
//   ext (the "internet": gateway 192.0.2.1 and an HTTP server that answers
//        with the address it sees)
//    |
//   router (the appliance: the real agent, configured over its API)
//    |                 \
//   guest A (tenant A)  guest B (tenant B, with floating IP 203.0.113.11)
//
// It pushes docs/examples/router.json from the management network, then
// shows what a person would check by hand. It never touches the host's own
// network, and removes everything it made, even when interrupted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, REPO } from '../test/harness/agent.js';
import { DhcpClient } from '../test/harness/dhclient.js';
import { startEchoServer, seenAs } from '../test/harness/servers.js';
import { LAB, routerLab, type Topology } from '../test/harness/topology.js';

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);
let step = 0;
const say = (title: string) => console.log(`\n${bold(`${++step}. ${title}`)}`);
const show = (line: string) => console.log(`   ${line}`);

async function demo(lab: Topology): Promise<boolean> {
  let ok = true;
  const check = (good: boolean, line: string) => {
    show(`${good ? 'ok  ' : 'FAIL'} ${line}`);
    ok &&= good;
  };

  say('Start the agent in the router namespace (listening on its management address only)');
  const agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
  const { interfaces } = (await agent.request('GET', '/v1/system/interfaces')).json<{ interfaces: { ifname: string; lladdr: string }[] }>();
  show(`GET /v1/system/interfaces: ${interfaces.map((i) => `${i.ifname} (${i.lladdr})`).join(', ')}`);

  say('Push the router document (docs/examples/router.json) with PUT /v1/system/config');
  const document = await readFile(join(REPO, 'docs/examples/router.json'), 'utf8');
  const put = await agent.request('PUT', '/v1/system/config', { body: document });
  check(put.status === 200, `answer ${put.status}`);
  if (put.status !== 200) {
    show(put.body);
    return false;
  }
  const { report } = (await agent.request('GET', '/v1/system/apply')).json<{ report: { duration_ms: number; steps: { subsystem: string; changed: boolean; commands: number; duration_ms: number }[] } }>();
  show(`applied in ${report.duration_ms} ms:`);
  for (const s of report.steps) show(`  ${s.subsystem.padEnd(16)} ${s.changed ? 'changed' : 'unchanged'}, ${s.commands} commands, ${s.duration_ms} ms`);

  say('The guests ask for an address with DHCP');
  for (const [role, expected] of [['ta', '198.51.100.10'], ['tb', '198.51.100.74']] as const) {
    const attempt = await new DhcpClient(lab, role).lease();
    const lease = attempt.lease;
    check(lease?.address === expected, `guest ${role === 'ta' ? 'A' : 'B'} got ${lease?.address ?? 'nothing'} (host name ${lease?.options['host-name'] ?? '-'}, router ${lease?.options.routers ?? '-'}) in ${attempt.ms} ms`);
  }

  say('Guest A reaches the server outside; the server sees the router\'s external address');
  await startEchoServer(lab, 'ext', LAB.ext.v4);
  const seenA = await seenAs(lab, 'ta', `http://${LAB.ext.v4}:8080/`);
  check(seenA === '192.0.2.2', `the server saw guest A as ${seenA ?? '(no answer)'}`);

  say('Guest B has the floating IP 203.0.113.11: outside sees it as that address');
  const seenB = await seenAs(lab, 'tb', `http://${LAB.ext.v4}:8080/`);
  check(seenB === '203.0.113.11', `the server saw guest B as ${seenB ?? '(no answer)'}`);

  say('From outside, the floating IP reaches guest B');
  await startEchoServer(lab, 'tb', '198.51.100.74');
  const inbound = await seenAs(lab, 'ext', 'http://203.0.113.11:8080/');
  check(inbound === LAB.ext.floatingGateway, `guest B answered on 203.0.113.11:8080 and saw the caller as ${inbound ?? '(no answer)'}`);

  say('Pushing the same document again changes nothing on the host');
  await agent.request('PUT', '/v1/system/config', { body: document });
  const again = (await agent.request('GET', '/v1/system/apply')).json<{ report: { duration_ms: number; steps: { commands: number }[] } }>().report;
  const commands = again.steps.reduce((sum, s) => sum + s.commands, 0);
  check(commands === 0, `re-apply took ${again.duration_ms} ms and ran ${commands} commands`);

  say('Stop the agent and remove the sandbox');
  await agent.stop();
  return ok;
}

const lab = await routerLab();
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});
try {
  const ok = await demo(lab);
  console.log(`\n${bold(ok && !interrupted ? 'The router works.' : 'Something did not work: see FAIL above.')}`);
  process.exitCode = ok ? 0 : 1;
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await lab.destroy();
}
