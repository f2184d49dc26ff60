// Keeps the runtime floor honest: every production dependency must declare
// support for Node 18.20 (the image's Node) when it declares engines at all.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const FLOOR = [18, 20, 0];
const root = process.cwd();
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const bad = [];

function satisfiesFloor(range) {
  // Accept the common forms: ">=X", ">=X.Y", "^X || ^Y", "X || Y", ">= X <Y"; reject when
  // every alternative demands a major above 18 or a minimum above 18.20.
  return range.split('||').some((alternative) => {
    const min = alternative.match(/>=?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/);
    const caret = alternative.match(/[\^~]\s*v?(\d+)(?:\.(\d+))?/);
    const bare = alternative.trim().match(/^v?(\d+)(?:\.(x|\d+))?/);
    const max = alternative.match(/<\s*v?(\d+)/);
    if (max && Number(max[1]) <= FLOOR[0]) return false;
    const spec = min ?? caret ?? bare;
    if (!spec) return true;
    const major = Number(spec[1]);
    const minor = spec[2] && spec[2] !== 'x' ? Number(spec[2]) : 0;
    if (caret && !min) return major === FLOOR[0] && minor <= FLOOR[1];
    if (bare && !min && !caret) return major === FLOOR[0];
    return major < FLOOR[0] || (major === FLOOR[0] && minor <= FLOOR[1]);
  });
}

for (const [path, meta] of Object.entries(lock.packages ?? {})) {
  if (!path.startsWith('node_modules/') || meta.dev || meta.devOptional) continue;
  const manifest = join(root, path, 'package.json');
  if (!existsSync(manifest)) continue;
  const engines = JSON.parse(readFileSync(manifest, 'utf8')).engines?.node;
  if (typeof engines === 'string' && !satisfiesFloor(engines)) bad.push(`${path.slice(13)}: engines.node "${engines}"`);
}
if (bad.length) {
  console.error(`production dependencies that exclude Node ${FLOOR.join('.')}:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`all production dependencies accept Node ${FLOOR.join('.')}`);
