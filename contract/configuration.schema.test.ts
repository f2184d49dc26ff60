import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generatedSchemaModule } from '../scripts/emit-schema.js';
import { generatedValidatorModule } from '../scripts/emit-validator.js';

describe('the generated configuration schema', () => {
  it('matches its TypeBox source (run npm run emit:schema after editing contract/schema.ts)', () => {
    assert.equal(readFileSync(new URL('./configuration.schema.ts', import.meta.url), 'utf8'), generatedSchemaModule());
  });
});

describe('the generated configuration validator', () => {
  it('matches the schema (run npm run emit:validator after npm run emit:schema)', () => {
    assert.equal(readFileSync(new URL('./configuration.validator.ts', import.meta.url), 'utf8'), generatedValidatorModule());
  });
});
