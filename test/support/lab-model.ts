// The lab document (test/fixtures/documents/harness-router.json) as a
// validated model, for renderer unit tests: each test changes a copy.
import { readFileSync } from 'node:fs';
import { validateDocument, type ConfigModel } from '../../contract/index.js';

const LAB_DOC = JSON.parse(readFileSync(new URL('../fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as unknown;

/** Generic names map to the lab router's eth0..eth3. */
export const LAB_HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };

/** A fresh copy of the lab document, typed as the caller needs it. */
export function labDocument<Doc>(): Doc {
  return structuredClone(LAB_DOC) as Doc;
}

/** The lab document's model after `change` edited a copy; throws if the result does not validate. */
export function labModel<Doc>(change?: (doc: Doc) => void): ConfigModel {
  const doc = labDocument<Doc>();
  change?.(doc);
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.model;
}
