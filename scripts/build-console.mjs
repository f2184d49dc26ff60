// Bundle the operator console (console/) into dist/console/ for the
// orchestrator to serve under /ui/: one minified script and one stylesheet
// named after their content (cached for good by browsers), the page that
// names them, and a gzip copy of each (served to browsers that take it).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'console', 'main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir: out,
  entryNames: 'app-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: join(root, 'console', 'tsconfig.json'),
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith('.js'));
const style = outputs.find((name) => name.endsWith('.css'));
if (!script || !style) throw new Error(`the console build made ${outputs.join(', ')}: expected one .js and one .css`);
const page = (await readFile(join(root, 'console', 'index.html'), 'utf8')).replace('%APP_JS%', script).replace('%APP_CSS%', style);
await writeFile(join(out, 'index.html'), page);
for (const name of ['index.html', script, style]) {
  const body = await readFile(join(out, name));
  await writeFile(join(out, `${name}.gz`), gzipSync(body, { level: constants.Z_BEST_COMPRESSION }));
}
