// Small pure helpers the daemon renderers share (drivers never import each other).

/** 32-bit FNV-1a of the UTF-8 bytes of `text`: a stable small number from an id (BIRD's router id, VRRP ids). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A real interface name (from the host, not the document) as it may be
 * written into a daemon's file: daemons split on blanks, read `#` and `!` as
 * comments, and BIRD's patterns treat `*` and `?` as wildcards, so only plain
 * names pass; `file` names the file in the error.
 */
export function plainInterfaceName(name: string, file: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`interface name ${JSON.stringify(name)} cannot be written into ${file}`);
  return name;
}
