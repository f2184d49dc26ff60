// The committed bad-document corpus is what its generator produces, and each
// entry really is the harness router document with one defect in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BAD_DOCUMENTS_FILE, renderBadDocuments, type BadDocumentEntry } from '../fixtures/generate-bad-documents.js';

const committed = readFileSync(BAD_DOCUMENTS_FILE, 'utf8');
const base = JSON.parse(readFileSync(new URL('../fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as unknown;

test('bad-documents.json is up to date with generate-bad-documents.ts', () => {
  assert.equal(committed, renderBadDocuments(), 'run: npx tsx test/fixtures/generate-bad-documents.ts');
});

test('every corpus entry differs from the harness router document', () => {
  for (const entry of JSON.parse(committed) as BadDocumentEntry[]) {
    assert.notDeepEqual(entry.document, base, entry.name);
  }
});
