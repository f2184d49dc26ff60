// How long the agent takes to validate a document (the contract's schema and
// semantic checks, contract/validate.ts), without HTTP: the built code in a
// Node process started with the agent's own flags (bin/astara-appliance: a
// 2 MiB young generation, so as many scavenges as the agent has), after a
// few warm-up runs, as a long-running agent has had.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../test/harness/agent.js';

export interface ValidationTimes {
  readonly bytes: number;
  /** JSON.parse of the body, per run. */
  readonly parseMs: readonly number[];
  /** validateDocument, per run. */
  readonly validateMs: readonly number[];
}

const WARM_UP_RUNS = 3;

const SCRIPT = `
import { readFileSync } from 'node:fs';
const [contract, file, runs] = process.argv.slice(1);
const { validateDocument } = await import(contract);
const text = readFileSync(file, 'utf8');
const parseMs = [];
const validateMs = [];
for (let i = 0; i < ${WARM_UP_RUNS} + Number(runs); i++) {
  let started = performance.now();
  const body = JSON.parse(text);
  const parsed = performance.now() - started;
  started = performance.now();
  const result = validateDocument(body);
  const validated = performance.now() - started;
  if (!result.ok) throw new Error('the document does not validate: ' + JSON.stringify(result.errors.slice(0, 3)));
  if (i >= ${WARM_UP_RUNS}) { parseMs.push(parsed); validateMs.push(validated); }
}
process.stdout.write(JSON.stringify({ bytes: Buffer.byteLength(text), parseMs, validateMs }));
`;

/** Validate `doc` `runs` times in a process like the agent's (dist/ must be built). */
export async function measureValidation(doc: unknown, runs: number): Promise<ValidationTimes> {
  const dir = await mkdtemp(join(tmpdir(), 'astara-bench-validate-'));
  try {
    const file = join(dir, 'document.json');
    await writeFile(file, JSON.stringify(doc));
    const contract = pathToFileURL(join(REPO, 'dist/contract/index.js')).href;
    const output = execFileSync(process.execPath, ['--max-semi-space-size=2', '--input-type=module', '-e', SCRIPT, contract, file, String(runs)], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
    return JSON.parse(output) as ValidationTimes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
