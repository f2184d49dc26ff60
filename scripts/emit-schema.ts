// Writes contract/configuration.schema.ts: the JSON Schema of the
// configuration document, generated from its TypeBox source
// (contract/schema.ts). The agent loads this plain object, so TypeBox (about
// 20 MiB resident) is needed only to build, never at run time. A unit test
// fails when the two drift apart: run `npm run emit:schema` after editing the source.
import { writeFileSync } from 'node:fs';
import { Configuration } from '../contract/schema.js';

export function generatedSchemaModule(): string {
  return [
    '// Generated from contract/schema.ts by scripts/emit-schema.ts: do not edit.',
    `export const configurationSchema = ${JSON.stringify(Configuration, null, 1)} as const;`,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(new URL('../contract/configuration.schema.ts', import.meta.url), generatedSchemaModule());
}
