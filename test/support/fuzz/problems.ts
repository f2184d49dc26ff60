// Whether every problem of a rejection names where it is: a JSON pointer that
// leads into the document sent (or to a key it lacks), the whole document
// only when it is not an object at all or for the last entry that counts the
// problems not listed.

export interface NamedProblem {
  readonly path?: unknown;
  readonly message?: unknown;
}

/** JSON pointer tokens, or undefined when `pointer` is not one. */
export function pointerTokens(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/') || /~[^01]|~$/.test(pointer)) return undefined;
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Whether `pointer` leads to a value of `root`, or to a key missing from an
 * object of it: a required key ("is required"), or one whose default is at
 * fault (`/orchestrator/address` when the document has no `orchestrator`).
 */
export function leadsInto(root: unknown, pointer: string): boolean {
  const path = pointerTokens(pointer);
  if (!path) return false;
  let node = root;
  for (const token of path) {
    if (Array.isArray(node)) {
      if (!/^(?:0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return false;
      node = node[Number(token)];
    } else if (typeof node === 'object' && node !== null) {
      if (!Object.hasOwn(node, token)) return true;
      node = (node as Record<string, unknown>)[token];
    } else {
      return false;
    }
  }
  return true;
}

/**
 * What is wrong with how the problems of an answer name their place in `root`
 * (the document, unwrapped). `body` is the request body when it wrapped the
 * document: the depth scan of the API runs on the body and names paths in it.
 */
export function unnamedProblems(root: unknown, problems: readonly NamedProblem[], body: unknown = root): string[] {
  const documentIsObject = typeof root === 'object' && root !== null && !Array.isArray(root);
  return problems.flatMap((p, i) => {
    if (typeof p.path !== 'string' || typeof p.message !== 'string' || p.message === '') return [`problem ${i} does not name a path: ${JSON.stringify(p)}`];
    if (!leadsInto(root, p.path) && !leadsInto(body, p.path)) return [`problem ${i} names ${JSON.stringify(p.path)}, which leads nowhere in the document: ${p.message}`];
    const summary = /^(?:warning: )?and \d+ more/.test(p.message);
    if (p.path === '' && documentIsObject && !summary) return [`problem ${i} names the whole document: ${p.message}`];
    return [];
  });
}
