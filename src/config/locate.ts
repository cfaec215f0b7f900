// Maps a data path back to the YAML node it came from, for line:column.

import { Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, Node } from 'yaml';
import type { Segment } from './problem';

export interface Position {
  line: number;
  column: number;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function isEmpty(node: unknown): boolean {
  return !isNode(node) || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
}

/** The node for `path` (or its key); falls back to the deepest node found. */
export function findNode(doc: Document, path: readonly Segment[], atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let key: unknown;
  for (const seg of path) {
    const coll = isAlias(node) ? node.resolve(doc) : node;
    if (isMap(coll)) {
      const pair = coll.items.find((p) => keyText(p.key) === String(seg));
      if (pair === undefined) return isNode(node) ? node : undefined;
      key = pair.key;
      node = pair.value;
    } else if (isSeq(coll) && typeof seg === 'number' && seg < coll.items.length) {
      key = undefined;
      node = coll.items[seg];
    } else {
      return isNode(node) ? node : undefined;
    }
  }
  // An empty value (`mode:`) has no useful position of its own: use its key.
  const target = atKey || isEmpty(node) ? (isNode(key) ? key : node) : node;
  return isNode(target) ? target : undefined;
}

export function offsetToPosition(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

export function locate(doc: Document, lineCounter: LineCounter, path: readonly Segment[], atKey: boolean): Position {
  const node = findNode(doc, path, atKey);
  return node?.range ? offsetToPosition(lineCounter, node.range[0]) : { line: 1, column: 1 };
}
