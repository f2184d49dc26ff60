// Writes, beside every handlebars template of the appliance (`*.hbs` under
// appliance/), a TypeScript module holding its text as a string constant
// (`bird.conf.hbs` -> `bird.conf.hbs.ts`, exporting `birdConfTemplate`). The
// agent imports those modules, so the text is in the build (and in the
// one-file bundle of the image) without reading a file at run time. A unit
// test fails when a template and its module drift apart: run
// `npm run emit:templates` after editing a template.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every template under appliance/, as absolute paths in a stable order. */
export function templateFiles(): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.hbs')) found.push(path);
    }
  };
  visit(join(ROOT, 'appliance'));
  return found.sort();
}

/** The constant's name: `dnsmasq.hosts.hbs` -> `dnsmasqHostsTemplate`. */
export function templateConstant(path: string): string {
  const words = basename(path, '.hbs').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [...words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))), 'Template'].join('');
}

export function generatedModulePath(path: string): string {
  return `${path}.ts`;
}

export function generatedTemplateModule(path: string): string {
  return [
    `// Generated from ${basename(path)} by scripts/emit-templates.ts: do not edit.`,
    `export const ${templateConstant(path)} = ${JSON.stringify(readFileSync(path, 'utf8'))};`,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const path of templateFiles()) {
    writeFileSync(generatedModulePath(path), generatedTemplateModule(path));
    console.log(`wrote ${relative(ROOT, generatedModulePath(path))}`);
  }
}
