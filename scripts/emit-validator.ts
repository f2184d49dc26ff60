// Writes contract/configuration.validator.ts: the schema validator of the
// configuration document as code (ajv's standalone output), generated from
// contract/configuration.schema.ts. Compiling the schema when the agent
// starts took about 260 ms and left about 25 MiB resident (ajv's compiler and
// the compiled code's garbage); the generated module loads in under 10 ms.
// A unit test fails when the two drift apart: run `npm run emit:validator`
// after `npm run emit:schema`.
import { writeFileSync } from 'node:fs';
import { _, Ajv } from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { configurationSchema } from '../contract/configuration.schema.js';
import { SCHEMA_FORMATS } from '../contract/formats.js';

// ajv's standalone module is CommonJS with a default export; under NodeNext it arrives wrapped.
const standaloneCode = standaloneModule.default;

/** The options every validation of the document runs with: every error at once, each with its schema and data. */
const OPTIONS = { allErrors: true, verbose: true, strict: false } as const;

export function generatedValidatorModule(): string {
  // The formats are referenced, not inlined: the generated code calls contract/formats.ts.
  const ajv = new Ajv({ ...OPTIONS, code: { source: true, esm: true, formats: _`SCHEMA_FORMATS` } });
  for (const [name, check] of Object.entries(SCHEMA_FORMATS)) ajv.addFormat(name, check);
  const code = standaloneCode(ajv, ajv.compile(configurationSchema));
  // The one runtime helper ajv's code needs (string length in code points), imported rather than required.
  const body = code.replace(/^"use strict";/, '').replaceAll('require("ajv/dist/runtime/ucs2length")', 'ucs2lengthModule');
  if (/\brequire\(/.test(body)) throw new Error('the generated validator requires a module this script does not import');
  return [
    '// Generated from contract/configuration.schema.ts by scripts/emit-validator.ts: do not edit.',
    '/* eslint-disable */',
    '// @ts-nocheck',
    "import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';",
    "import { SCHEMA_FORMATS } from './formats.js';",
    body,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(new URL('../contract/configuration.validator.ts', import.meta.url), generatedValidatorModule());
}
