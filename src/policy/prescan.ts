// A linear pre-scan of a policy file's YAML text, run before the yaml library builds anything.
// The library spends about a kilobyte per node and recurses per nesting level, so 1 MiB of
// `[[[[...` or of `[1,1,1,...]` would cost hundreds of megabytes (or the stack) before any check
// on the tree could run. This scan bounds both in one pass over the text, with a located finding:
// nesting depth (flow `[`/`{` and block indentation, `- - -` included), values per document and
// per file, and documents per file.
// It follows YAML's structure closely enough for those counts (quoted and block scalars, comments,
// multi-line flow collections), and leaves everything else to the parser. Pure: text in, finding out.

/**
 * A policy nests six collections deep at most (spec.ingress[].sources[]); far deeper nesting is
 * hostile or broken input, and left to the recursive steps after parsing it could exhaust the stack.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Values (keys, items and collections) one YAML document may hold. A policy with a thousand
 * sources holds about 3,000; the yaml library spends about 1 KB of memory per value while parsing.
 */
export const MAX_DOCUMENT_VALUES = 20_000;

/**
 * Values one file may hold, over all its documents. The yaml library's garbage from one document is
 * collected late, so a file's parse costs about 1 KB per value of the whole file: this bounds it to
 * about 80 MB. 500 KB of real policies hold about 35,000.
 */
export const MAX_FILE_VALUES = 40_000;

/** YAML documents one file may hold (1 MiB of the smallest real policies is about 4,000). */
export const MAX_DOCUMENTS = 10_000;

export const TOO_DEEP =
  `this document nests lists or mappings more than ${MAX_NESTING_DEPTH} levels deep (a policy needs about six); ` +
  'remove the extra levels of [ ], { } or - nesting';

const TOO_MANY_VALUES =
  `this document holds more than ${MAX_DOCUMENT_VALUES} values (keys, list items and collections; a policy ` +
  'with a thousand sources holds about 3,000); split it into several policies';

const TOO_MANY_FILE_VALUES =
  `this file holds more than ${MAX_FILE_VALUES} values (keys, list items and collections; 500 KB of ` +
  'policies hold about 35,000); split it into several files';

const TOO_MANY_DOCUMENTS = `this file holds more than ${MAX_DOCUMENTS} YAML documents; split it into several files`;

/** Where the text first passes a limit (a 0-based offset into the text) and what to do about it. */
export interface PrescanFinding {
  readonly offset: number;
  readonly message: string;
}

interface Level {
  readonly indent: number;
  readonly kind: 'seq' | 'map';
}

class Limit extends Error {
  constructor(readonly finding: PrescanFinding) {
    super(finding.message);
  }
}

const SPACE = 32;
const isBreakOrEnd = (code: number): boolean => Number.isNaN(code) || code === 10 || code === 13;
const isBlank = (code: number): boolean => code === SPACE || code === 9 || isBreakOrEnd(code);

class Scanner {
  private levels: Level[] = [];
  /** Open flow collections, and the block depth they started at. */
  private flow = 0;
  private flowBase = 0;
  /** Inside a quoted scalar that continues on the next line. */
  private quote: 34 | 39 | undefined;
  /** Inside a block scalar: lines indented more than this are its content. */
  private blockScalarParent: number | undefined;
  private values = 0;
  private fileValues = 0;
  private documents = 0;

  constructor(private readonly text: string) {}

  run(): void {
    const { text } = this;
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      this.line(start, end);
      start = end + 1;
    }
  }

  private fail(offset: number, message: string): never {
    throw new Limit({ offset, message });
  }

  private count(offset: number, values = 1): void {
    this.values += values;
    this.fileValues += values;
    if (this.values > MAX_DOCUMENT_VALUES) this.fail(offset, TOO_MANY_VALUES);
    if (this.fileValues > MAX_FILE_VALUES) this.fail(offset, TOO_MANY_FILE_VALUES);
  }

  private newDocument(offset: number): void {
    this.documents++;
    if (this.documents > MAX_DOCUMENTS) this.fail(offset, TOO_MANY_DOCUMENTS);
    this.levels = [];
    this.flow = 0;
    this.quote = undefined;
    this.blockScalarParent = undefined;
    this.values = 0;
  }

  private line(start: number, end: number): void {
    const { text } = this;
    let p = start;
    if (this.quote !== undefined) {
      p = this.skipQuoted(p, end);
      if (p > end) return;
    }
    if (this.blockScalarParent !== undefined) {
      const indent = this.indentAt(start, end);
      if (indent === undefined || start + indent >= end || indent > this.blockScalarParent) return;
      this.blockScalarParent = undefined;
    }
    if (p === start && this.isDocumentMarker(start)) {
      this.newDocument(start);
      p = this.skipSpaces(start + 3, end);
    }
    if (this.flow > 0) return this.scanFlow(p, end);
    if (p !== start) return this.value(p, end);
    const indent = this.indentAt(start, end);
    if (indent === undefined) return;
    const contentAt = start + indent;
    const first = text.charCodeAt(contentAt);
    if (isBreakOrEnd(first) || first === 35 /* # */) return;
    if (first === 37 /* % */ && indent === 0) return; // a directive
    while (this.levels.length > 0 && (this.levels.at(-1) as Level).indent > indent) this.levels.pop();
    this.entries(contentAt, start, end);
  }

  /** Spaces before the line's content; undefined for a blank line. */
  private indentAt(start: number, end: number): number | undefined {
    let p = start;
    while (p < end && this.text.charCodeAt(p) === SPACE) p++;
    return p >= end || this.text.charCodeAt(p) === 13 ? undefined : p - start;
  }

  private isDocumentMarker(start: number): boolean {
    const marker = this.text.slice(start, start + 3);
    return (marker === '---' || marker === '...') && isBlank(this.text.charCodeAt(start + 3));
  }

  /** A block collection entry at `column`: a sibling of the level there, or a new, deeper level. */
  private enter(column: number, kind: Level['kind'], offset: number): void {
    let top = this.levels.at(-1);
    // A sequence item at a map key's own indentation ends the sequence: the key is a sibling.
    if (top !== undefined && top.indent === column && top.kind === 'seq' && kind === 'map') {
      this.levels.pop();
      top = this.levels.at(-1);
    }
    if (top !== undefined && top.indent === column && top.kind === kind) return;
    this.levels.push({ indent: column, kind });
    if (this.levels.length > MAX_NESTING_DEPTH) this.fail(offset, TOO_DEEP);
    this.count(offset);
  }

  /** `- `, `? ` and `key:` entries from `p` on, then the value after them. */
  private entries(p: number, lineStart: number, end: number): void {
    const { text } = this;
    for (;;) {
      const code = text.charCodeAt(p);
      if ((code === 45 /* - */ || code === 63) /* ? */ && isBlank(text.charCodeAt(p + 1))) {
        this.enter(p - lineStart, 'seq', p);
        p = this.skipSpaces(p + 1, end);
        continue;
      }
      const afterKey = this.keyEnd(p, end);
      if (afterKey !== undefined) {
        this.enter(p - lineStart, 'map', p);
        this.count(p, 2);
        return this.value(this.skipSpaces(afterKey, end), end);
      }
      return this.value(p, end);
    }
  }

  /** The offset just past `key:` when the text at `p` is a mapping key, else undefined. */
  private keyEnd(p: number, end: number): number | undefined {
    const { text } = this;
    let q = p;
    const code = text.charCodeAt(q);
    if (code === 34 || code === 39) {
      q = this.quotedEnd(q, end);
      if (q > end) return undefined;
    } else if (code === 91 || code === 123 || code === 124 || code === 62 || code === 35) {
      return undefined; // [ { | > #: a value, not a key
    }
    for (; q < end; q++) {
      const c = text.charCodeAt(q);
      if (c === 58 /* : */ && isBlank(text.charCodeAt(q + 1))) return q + 1;
      if (c === 35 /* # */ && q > p && isBlank(text.charCodeAt(q - 1))) return undefined;
    }
    return undefined;
  }

  /** A value starting at `p`: a flow collection, a block or quoted scalar, or a plain scalar. */
  private value(p: number, end: number): void {
    const { text } = this;
    // Anchors and tags before the value: `&a [`, `!!seq [`.
    while (p < end && (text.charCodeAt(p) === 38 || text.charCodeAt(p) === 33)) {
      while (p < end && !isBlank(text.charCodeAt(p))) p++;
      p = this.skipSpaces(p, end);
    }
    const code = text.charCodeAt(p);
    if (p >= end || code === 35 || code === 13) return;
    if (code === 91 || code === 123) {
      this.flowBase = this.levels.length;
      return this.scanFlow(p, end);
    }
    if (code === 124 || code === 62) {
      this.blockScalarParent = this.levels.at(-1)?.indent ?? -1;
      return;
    }
    this.count(p);
    if (code === 34 || code === 39) this.skipQuoted(p, end);
  }

  /** Inside flow collections: brackets, separators, quoted scalars and comments. */
  private scanFlow(p: number, end: number): void {
    const { text } = this;
    for (; p < end; p++) {
      const code = text.charCodeAt(p);
      if (code === 91 || code === 123) {
        this.flow++;
        this.count(p);
        if (this.flowBase + this.flow > MAX_NESTING_DEPTH) this.fail(p, TOO_DEEP);
      } else if (code === 93 || code === 125) {
        if (this.flow > 0) this.flow--;
        if (this.flow === 0) return;
      } else if (code === 44 /* , */) {
        this.count(p);
      } else if (code === 34 || code === 39) {
        p = this.skipQuoted(p, end) - 1;
        if (p >= end) return;
      } else if (code === 35 && (p === 0 || isBlank(text.charCodeAt(p - 1)))) {
        return;
      }
    }
  }

  /** Past the quoted scalar opening at `p` (on this line), or past `end` when it continues. */
  private skipQuoted(p: number, end: number): number {
    if (this.quote === undefined) {
      this.quote = this.text.charCodeAt(p) as 34 | 39;
      p++;
    }
    const close = this.closeQuote(p, end, this.quote);
    if (close > end) return end + 1;
    this.quote = undefined;
    return close;
  }

  private quotedEnd(p: number, end: number): number {
    return this.closeQuote(p + 1, end, this.text.charCodeAt(p) as 34 | 39);
  }

  /** Just past the closing quote at or after `p`, or end + 1 when the line holds none. */
  private closeQuote(p: number, end: number, quote: 34 | 39): number {
    const { text } = this;
    for (; p < end; p++) {
      const code = text.charCodeAt(p);
      if (quote === 34 && code === 92 /* \ */) p++;
      else if (code === quote) {
        if (quote === 39 && text.charCodeAt(p + 1) === 39) p++;
        else return p + 1;
      }
    }
    return end + 1;
  }

  private skipSpaces(p: number, end: number): number {
    while (p < end && this.text.charCodeAt(p) === SPACE) p++;
    return p;
  }
}

/**
 * The first place where `text` passes a limit of this scan (MAX_NESTING_DEPTH, MAX_DOCUMENT_VALUES,
 * MAX_FILE_VALUES, MAX_DOCUMENTS), or undefined. Linear in the text's length; never throws.
 */
export function prescanYaml(text: string): PrescanFinding | undefined {
  try {
    new Scanner(text).run();
    return undefined;
  } catch (error) {
    if (error instanceof Limit) return error.finding;
    throw error;
  }
}
