// Clients for load-balancer namespace tests: makes requests to one URL
// (`http://...` or `tcp://host:port`, where the answer is what the server
// writes before it closes), each on a new connection, from the source
// addresses given in turn, and prints one JSON line: how many answers each
// member name got (overall and per source), and every failure.
//
//   node lb-client.mjs '{"url": "...", "count": 400, "concurrency": 8}'
//
// Options: count (requests in all) or untilFile (go on until that file
// exists), concurrency (requests in flight at once), intervalMs (start one
// request every so often instead of back to back, with count), sources
// (local addresses), timeoutMs (per request).
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

const options = JSON.parse(process.argv[2]);
const { url, count = Infinity, concurrency = 1, intervalMs = 0, sources = [], untilFile, timeoutMs = 5000 } = options;
const target = new URL(url);

const answers = {};
const bySource = {};
const failures = [];
let started = 0;
let done = 0;

function once(source) {
  return new Promise((resolve) => {
    const finish = (error, text) => resolve(error ? { error } : { text: text.trim() });
    let body = '';
    if (target.protocol === 'tcp:') {
      const socket = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port), localAddress: source });
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      socket.on('data', (chunk) => (body += chunk));
      socket.on('end', () => finish(undefined, body));
      socket.on('error', (error) => finish(error.message));
      return;
    }
    const req = request(url, { agent: false, localAddress: source, timeout: timeoutMs }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? finish(undefined, body) : finish(`status ${res.statusCode}: ${body.trim()}`)));
      res.on('error', (error) => finish(error.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => finish(error.message));
    req.end();
  });
}

function more() {
  return untilFile ? !existsSync(untilFile) : started < count;
}

async function worker() {
  while (more()) {
    const index = started++;
    const source = sources.length > 0 ? sources[index % sources.length] : undefined;
    const outcome = await once(source);
    done++;
    if (outcome.error) {
      failures.push({ source: source ?? null, error: outcome.error });
      continue;
    }
    answers[outcome.text] = (answers[outcome.text] ?? 0) + 1;
    const key = source ?? 'default';
    bySource[key] ??= {};
    bySource[key][outcome.text] = (bySource[key][outcome.text] ?? 0) + 1;
  }
}

async function paced() {
  const pending = [];
  while (more()) {
    const index = started++;
    const source = sources.length > 0 ? sources[index % sources.length] : undefined;
    pending.push(
      once(source).then((outcome) => {
        done++;
        if (outcome.error) failures.push({ source: source ?? null, error: outcome.error });
        else answers[outcome.text] = (answers[outcome.text] ?? 0) + 1;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await Promise.all(pending);
}

if (intervalMs > 0) await paced();
else await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify({ total: done, answers, bySource, failures }));
