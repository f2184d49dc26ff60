import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonText, sortKeys } from './json.js';

describe('sortKeys', () => {
  it('sorts the keys of every object, in lists too, whatever their order was', () => {
    const value = JSON.parse('{"z":[{"b":1,"a":[{"d":1,"c":2}]},3],"a":{"y":null,"x":"t"},"m":[]}') as unknown;
    assert.equal(jsonText(value), '{"a":{"x":"t","y":null},"m":[],"z":[{"a":[{"c":2,"d":1}],"b":1},3]}\n');
  });

  it('returns what is in order already as it is, and copies only the objects and lists above an unsorted one', () => {
    const inOrder = JSON.parse('{"a":{"b":[{"c":1},{"d":2}]},"e":[1,2]}') as { a: { b: object[] }; e: number[] };
    assert.equal(sortKeys(inOrder), inOrder);
    const oneUnsorted = JSON.parse('{"a":{"b":[{"c":1},{"e":2,"d":1}]},"f":[1,2],"g":{"h":1}}') as { a: { b: object[] }; f: number[]; g: object };
    const sorted = sortKeys(oneUnsorted) as typeof oneUnsorted;
    assert.notEqual(sorted, oneUnsorted);
    assert.notEqual(sorted.a.b, oneUnsorted.a.b);
    assert.equal(sorted.a.b[0], oneUnsorted.a.b[0]);
    assert.equal(sorted.f, oneUnsorted.f);
    assert.equal(sorted.g, oneUnsorted.g);
    assert.equal(JSON.stringify(sorted), '{"a":{"b":[{"c":1},{"d":1,"e":2}]},"f":[1,2],"g":{"h":1}}');
  });

  it('keeps a key named __proto__ as a key, and shows a class instance as a plain object of its own keys', () => {
    assert.equal(jsonText(JSON.parse('{"b":1,"__proto__":{"y":1,"x":2}}')), '{"__proto__":{"x":2,"y":1},"b":1}\n');
    assert.equal(jsonText({ when: new Date(0), list: [new Date(0)] }), '{"list":[{}],"when":{}}\n');
  });
});
