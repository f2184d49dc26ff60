// The bounds of a document: depth found without recursion, on parsed values
// and on raw bytes alike, with the path of the first value too deep.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { depthProblem, escapePointer, MAX_BODY_DEPTH, MAX_DOCUMENT_DEPTH, scanJsonDepth } from './limits.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** `levels` lists, each holding the next, as JSON text. */
const lists = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('depthProblem', () => {
  test('accepts the deepest document allowed and names the first value beyond it, in document order', () => {
    assert.equal(depthProblem(JSON.parse(lists(MAX_DOCUMENT_DEPTH))), undefined);
    const doc = JSON.parse(`{"a": [1, {"b": ${lists(MAX_DOCUMENT_DEPTH)}}], "c": ${lists(MAX_DOCUMENT_DEPTH)}}`) as unknown;
    const problem = depthProblem(doc);
    // The document is level 1, "a" 2, its object 3, "b" 4: the list at level 33 lies 29 lists below "b".
    assert.deepEqual(problem, { path: `/a/1/b${'/0'.repeat(MAX_DOCUMENT_DEPTH - 3)}`, message: `nests deeper than ${MAX_DOCUMENT_DEPTH} levels of objects and lists (the limit of a document)` });
  });

  test('walks a million levels without overflowing the stack', () => {
    const problem = depthProblem(JSON.parse(lists(1_000_000)));
    assert.equal(problem?.path, '/0'.repeat(MAX_DOCUMENT_DEPTH));
  });

  test('escapes keys as JSON pointers and keeps __proto__ as a key', () => {
    const doc = JSON.parse(`{"a/b~c": {"__proto__": ${lists(MAX_DOCUMENT_DEPTH)}}}`) as unknown;
    // The document is level 1, "a/b~c" 2, "__proto__" 3: the list at level 33 lies 30 below it.
    assert.equal(depthProblem(doc)?.path, `/a~1b~0c/__proto__${'/0'.repeat(MAX_DOCUMENT_DEPTH - 2)}`);
    assert.equal(escapePointer('~/'), '~0~1');
  });

  test('scalars have no depth', () => {
    for (const value of [null, 1, 'text', true]) assert.equal(depthProblem(value), undefined);
  });
});

describe('scanJsonDepth', () => {
  test('finds on the bytes what depthProblem finds on the parsed value', () => {
    const texts = [
      `{"a": [1, {"b": ${lists(MAX_DOCUMENT_DEPTH)}}], "c": ${lists(MAX_DOCUMENT_DEPTH)}}`,
      `{"a/b~c": {"__proto__": ${lists(MAX_DOCUMENT_DEPTH)}}}`,
      `[{"x": 1}, "[[[[", {"y\\"]": [${lists(MAX_DOCUMENT_DEPTH)}]}]`,
      `{"caf\u00e9 \u{1F600}": {"k": ${lists(MAX_DOCUMENT_DEPTH)}}}`,
      `{"a": "\\\\", "b": ${lists(MAX_DOCUMENT_DEPTH)}}`,
      lists(MAX_DOCUMENT_DEPTH),
    ];
    for (const text of texts) {
      const expected = depthProblem(JSON.parse(text));
      const scanned = scanJsonDepth(bytes(text), MAX_DOCUMENT_DEPTH);
      assert.deepEqual(scanned, expected, text.slice(0, 40));
    }
  });

  test('brackets inside strings, escaped quotes included, do not count', () => {
    const text = `{"k": "${'['.repeat(1000)}\\"${'{'.repeat(1000)}", "l": ["]]]]"]}`;
    assert.equal(scanJsonDepth(bytes(text)), undefined);
  });

  test(`bodies may nest ${MAX_BODY_DEPTH} levels, room for the wrapper and more; deeper ones are named`, () => {
    assert.equal(scanJsonDepth(bytes(lists(MAX_BODY_DEPTH))), undefined);
    assert.deepEqual(scanJsonDepth(bytes(`{"deep": ${lists(4_000_000)}}`)), {
      path: `/deep${'/0'.repeat(MAX_BODY_DEPTH - 1)}`,
      message: `nests deeper than ${MAX_BODY_DEPTH} levels of objects and lists (a document may nest ${MAX_DOCUMENT_DEPTH})`,
    });
  });
});
