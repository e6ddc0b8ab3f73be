// Finds where a field path was written in a parsed YAML document, so every finding can name a
// line and column. Falls back to the nearest enclosing node when the path leaves the document
// (a missing field points at the mapping that should hold it).
import { isAlias, isMap, isScalar, isSeq, type Document } from 'yaml';
import type { Segment } from './issue.js';

function start(node: unknown): number | undefined {
  if (isAlias(node) || isMap(node) || isSeq(node) || isScalar(node)) return node.range?.[0];
  return undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  return undefined;
}

/** The offset in the document's text of the value (or key) at `segments`. */
export function locateOffset(document: Document, segments: readonly Segment[], at: 'value' | 'key'): number {
  let node: unknown = document.contents;
  let offset = start(node) ?? 0;
  // An alias bomb cannot get here (toJS refused it), but bound the alias hops anyway.
  let hops = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    while (isAlias(node) && hops++ < 100) node = node.resolve(document);
    const last = i === segments.length - 1;
    if (isMap(node) && typeof segment === 'string') {
      const pair = node.items.find((item) => keyText(item.key) === segment);
      if (pair === undefined) return offset;
      const keyStart = start(pair.key);
      if (last && at === 'key') return keyStart ?? offset;
      node = pair.value;
      // An empty value (`ports:`) has no useful position of its own: point at its key.
      offset = isEmptyScalar(pair.value) ? (keyStart ?? offset) : (start(pair.value) ?? keyStart ?? offset);
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) return offset;
      node = item;
      offset = start(item) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}
