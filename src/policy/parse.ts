// The pure core of the policy loader: file texts in, a PolicyLoadResult out. A straight pipeline
// per document: decode -> YAML parse -> schema (ajv) -> named rules -> normalise, then checks
// across documents (unique names). Findings are values; nothing here throws or touches the disk.
import { Composer, isMap, isPair, isScalar, isSeq, LineCounter, Parser, visit, type Document } from 'yaml';
import { utcDate, type Guardrail } from '../model/guardrail.js';
import type {
  Policy,
  PolicyError,
  PolicyLoadResult,
  PolicyWarning,
  SourcePosition,
} from '../model/policy.js';
import { exceptionWarnings, guardrailErrors, type RuleSite } from './guardrail-check.js';
import { formatPath, isRecord, issuePath, type Issue, type Segment } from './issue.js';
import { foreignKind, kindOf, mismatchedKind, unknownKind } from './kinds/index.js';
import { INGRESS_POLICY } from './kinds/ingress-policy.js';
import { cleanRulesOf, rulePaths, type DirtyRules } from './normalise.js';
import { schemaIssues } from './messages.js';
import { kindFieldHomes, kindSchemaErrors } from './schema.js';
import { locateOffset } from './yaml-positions.js';
import { yamlFindings } from './yaml-errors.js';
import { MAX_NESTING_DEPTH, prescanYaml, TOO_DEEP } from './prescan.js';

/** One policy file's contents: text, or raw bytes that must be UTF-8. */
export interface PolicyText {
  /** The file as it is shown in errors, e.g. `policies/web/ssh.yaml`. */
  readonly file: string;
  readonly text: string | Uint8Array;
}

/** Everything read from a set of files, before deciding whether the set is valid. */
export interface PolicyCollection {
  readonly policies: Policy[];
  /** Guardrail documents; absent (or empty) when the set has none. */
  guardrails?: Guardrail[];
  /** Where each desired rule of `policies` was written, for the guardrail check. */
  sites?: RuleSite[];
  readonly errors: PolicyError[];
  readonly warnings: PolicyWarning[];
}

/** Options of the pure pipeline. */
export interface ParseOptions {
  /** The moment guardrail exceptions are judged at (default: now). */
  readonly now?: Date;
}

/** Enough alias use for real policies; far too little for an alias bomb to expand. */
export const MAX_ALIAS_COUNT = 100;

export { MAX_NESTING_DEPTH } from './prescan.js';

/** The yaml library turns a stack overflow while composing a deep document into an error. */
function isStackExhaustion(problem: { code: string; message: string }): boolean {
  return problem.code === 'RESOURCE_EXHAUSTION' || /call stack size|stack overflow/i.test(problem.message);
}

/** The offset of the first collection nested deeper than MAX_NESTING_DEPTH, found without recursion. */
function tooDeepAt(document: Document): number | undefined {
  const pending: { node: unknown; depth: number }[] = [{ node: document.contents, depth: 1 }];
  while (pending.length > 0) {
    const { node, depth } = pending.pop() as { node: unknown; depth: number };
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_NESTING_DEPTH) return node.range?.[0] ?? 0;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        pending.push({ node: item.key, depth: depth + 1 }, { node: item.value, depth: depth + 1 });
      } else {
        pending.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

interface NameSeen {
  readonly position: SourcePosition;
}

function positionInText(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

function decode(file: string, input: string | Uint8Array): { text: string } | { error: PolicyError } {
  let text: string;
  if (typeof input === 'string') {
    text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  } else {
    try {
      // fatal: invalid UTF-8 is an error, not U+FFFD; the decoder drops a leading BOM itself.
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      const lossy = new TextDecoder('utf-8').decode(input);
      const at = positionInText(lossy, Math.max(0, lossy.indexOf('\uFFFD')));
      return {
        error: {
          file,
          ...at,
          path: '',
          message:
            'file is not UTF-8 text (a binary file, or another encoding such as UTF-16); ' +
            'save it as UTF-8 or move it out of the policy directory',
        },
      };
    }
  }
  const nul = text.indexOf('\0');
  if (nul !== -1) {
    return {
      error: {
        file,
        ...positionInText(text, nul),
        path: '',
        message: 'file contains a NUL byte, so it is binary, not YAML; move it out of the policy directory',
      },
    };
  }
  return { text };
}

function isEmptyDocument(document: Document): boolean {
  const contents = document.contents as unknown;
  if (contents === null) return true;
  const scalar = contents as { value?: unknown; source?: unknown };
  return isRecord(contents) && 'source' in contents && scalar.value === null && scalar.source === '';
}

function describeShape(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'empty';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : String(value);
}

function sameOrBelow(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}

/** Schema findings under a path a rule has superseded are noise; drop them. */
function withoutSuperseded(schema: readonly Issue[], rules: readonly Issue[]): Issue[] {
  const superseding = rules
    .filter((issue) => issue.supersedes === true)
    .map((issue) => formatPath(issue.segments));
  const kept = schema.filter((issue) => !superseding.some((path) => sameOrBelow(issuePath(issue), path)));
  return [...kept, ...rules];
}

/** One file being read: where its offsets are, and where its findings go. */
interface FileScope {
  readonly file: string;
  readonly text: string;
  readonly out: PolicyCollection;
  readonly names: Map<string, NameSeen>;
  position(offset: number): SourcePosition;
}

/**
 * The yaml library's errors and warnings of a document as findings. `none`: there were none;
 * `duplicates`: only duplicate keys, whose document is still whole, so it is checked too and its
 * other errors are found in the same run (it never becomes a policy: the set is invalid anyway);
 * `broken`: the document cannot be read.
 */
function reportYamlProblems(
  scope: FileScope,
  document: Document,
  duplicatesLater = false,
): 'none' | 'duplicates' | 'broken' {
  const problems = [...document.errors, ...document.warnings];
  const onlyDuplicates = problems.length > 0 && problems.every((problem) => problem.code === 'DUPLICATE_KEY');
  // The caller reports them itself, each with its field path (dropDuplicateKeys).
  if (duplicatesLater && onlyDuplicates) return 'duplicates';
  // One clear finding for a document too deep to compose, not the library's stack-overflow text
  // dressed up as a syntax error (once per failed level). It points where the nesting passes the
  // limit (the levels above the overflow were composed), else where the stack ran out.
  const exhausted = problems.find(isStackExhaustion);
  if (exhausted !== undefined) {
    const at = tooDeepAt(document) ?? exhausted.pos[0];
    scope.out.errors.push({ ...scope.position(at), path: '', message: TOO_DEEP });
    return 'broken';
  }
  // The key of a duplicate: the text from the error's start up to the colon on that line.
  const keyAt = (offset: number): string =>
    (/^[^\n\r]*?(?=\s*:(\s|$))/.exec(scope.text.slice(offset, offset + 300))?.[0] ?? '').replace(
      /^(["'])(.*)\1$/,
      '$2',
    );
  for (const finding of yamlFindings(scope.text, problems, keyAt)) {
    scope.out.errors.push({ ...scope.position(finding.offset), path: '', message: finding.message });
  }
  if (problems.length === 0) return 'none';
  return onlyDuplicates ? 'duplicates' : 'broken';
}

/**
 * Removes every repeated key of every mapping below `node`, so the document is checked with each
 * key's first value, which is also where its errors are located, and reports each repeat at its key
 * with its field path. Documents are depth-bounded before they are composed (prescan).
 */
function dropDuplicateKeys(scope: FileScope, node: unknown, segments: readonly Segment[]): void {
  if (isMap(node)) {
    const seen = new Map<string, number>();
    node.items = node.items.filter((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, at);
        return true;
      }
      scope.out.errors.push({
        ...scope.position(at),
        path: formatPath([...segments, key]),
        message: `duplicate key ${JSON.stringify(key)}; a key may appear only once in a mapping (the first, at line ${scope.position(first).line}, is the one checked), so merge or remove the repeated one`,
      });
      return false;
    });
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      dropDuplicateKeys(scope, pair.value, [...segments, key]);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => dropDuplicateKeys(scope, item, [...segments, index]));
  }
}

/** The document as plain data, or undefined when it is too deep, has dangling aliases or is a bomb. */
function documentValue(scope: FileScope, document: Document): { value: unknown } | undefined {
  const { out, position } = scope;
  const deep = tooDeepAt(document);
  if (deep !== undefined) {
    out.errors.push({ ...position(deep), path: '', message: TOO_DEEP });
    return undefined;
  }
  let unresolved = false;
  visit(document, {
    Alias(_key, alias) {
      if (alias.resolve(document) === undefined) {
        unresolved = true;
        out.errors.push({
          ...position(alias.range?.[0] ?? 0),
          path: '',
          message: `alias *${alias.source} refers to no anchor; define &${alias.source} before it, or write the value out`,
        });
      }
    },
  });
  if (unresolved) return undefined;
  try {
    return { value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    const bomb = error instanceof Error && /alias count/i.test(error.message);
    out.errors.push({
      ...position(document.contents?.range?.[0] ?? 0),
      path: '',
      message: bomb
        ? `this document expands its aliases more than ${MAX_ALIAS_COUNT} times, which looks like an alias bomb; write the values out instead of nesting aliases`
        : `could not read this YAML document (${error instanceof Error ? error.message : String(error)}); fix the YAML here`,
    });
    return undefined;
  }
}

/** Where the issues of an IngressPolicy document lie (see DirtyRules). */
function dirtyRules(issues: readonly Issue[]): DirtyRules {
  const entries = new Set<number>();
  const sources = new Set<string>();
  for (const { segments } of issues) {
    if (segments.length === 0) return 'all';
    if (segments[0] !== 'spec') continue;
    if (segments.length === 1) return 'all';
    if (segments[1] !== 'ingress') continue;
    const [, , entry, field, source] = segments;
    if (typeof entry !== 'number') return 'all';
    if (field === 'sources' && typeof source === 'number') sources.add(`${entry}/${source}`);
    else entries.add(entry);
  }
  return { entries, sources };
}

/** Records a policy's name; false (with an error) when another policy already has it. */
function claimName(
  scope: FileScope,
  kind: string,
  value: Record<string, unknown>,
  here: () => SourcePosition,
): boolean {
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string') return true;
  // Names are unique per kind: a guardrail may share a name with a policy.
  const name = metadata.name;
  const what = kind === 'Guardrail' ? 'guardrail' : 'policy';
  const at = here();
  const first = scope.names.get(`${kind}/${name}`);
  if (first === undefined) {
    scope.names.set(`${kind}/${name}`, { position: at });
    return true;
  }
  const where = `${first.position.file}:${first.position.line}:${first.position.column}`;
  scope.out.errors.push({
    ...at,
    path: 'metadata.name',
    message: `metadata.name ${JSON.stringify(name)} is already used by the ${what} at ${where}; give each ${what} a unique name`,
  });
  return false;
}

/**
 * Validates one composed document and, when it is a valid policy, normalises it into the collection.
 * `flawed`: the YAML layer already reported an error in it (a duplicate key); it is checked, never
 * normalised. An IngressPolicy with errors still has its error-free rules checked against the
 * guardrails, so a denial is reported with the other errors rather than after they are fixed.
 */
function collectDocument(scope: FileScope, document: Document, flawed = false): void {
  const read = documentValue(scope, document);
  if (read === undefined) return;
  const { value } = read;
  if (!isRecord(value)) {
    scope.out.errors.push({
      ...scope.position(document.contents?.range?.[0] ?? 0),
      path: '',
      message: `a policy document must be a mapping with apiVersion, kind, metadata and spec, not ${describeShape(value)}`,
    });
    return;
  }
  const foreign = foreignKind(value) ?? unknownKind(value) ?? mismatchedKind(value);
  if (foreign !== undefined) {
    // One error, not the default kind's whole list of missing and unknown fields.
    scope.out.errors.push({
      ...scope.position(locateOffset(document, ['kind'], 'value')),
      path: 'kind',
      message: foreign,
    });
    return;
  }
  const kind = kindOf(value);
  const issues = withoutSuperseded(
    schemaIssues(value, kindSchemaErrors(kind, value), kindFieldHomes(kind)),
    kind.rules(value),
  );
  const locate = (segments: readonly Segment[], at: 'value' | 'key' = 'value'): SourcePosition =>
    scope.position(locateOffset(document, segments, at));
  for (const issue of issues) {
    scope.out.errors.push({
      ...locate(issue.segments, issue.at),
      path: issuePath(issue),
      message: issue.message,
    });
  }
  if (!claimName(scope, kind.kind, value, () => locate(['metadata', 'name']))) return;
  if (issues.length > 0 || flawed) {
    if (kind.kind === INGRESS_POLICY) {
      const partial = cleanRulesOf(value, dirtyRules(issues), scope.file, (segments) => locate(segments));
      for (const site of partial) (scope.out.sites ??= []).push(site);
    }
    return;
  }
  const loaded = kind.normalise(value, scope.file, (segments) => locate(segments));
  for (const issue of kind.warnings?.(value, loaded) ?? []) {
    scope.out.warnings.push({
      ...locate(issue.segments, issue.at),
      path: issuePath(issue),
      message: issue.message,
    });
  }
  if (loaded.kind === 'Guardrail') {
    (scope.out.guardrails ??= []).push(loaded.guardrail);
    return;
  }
  scope.out.policies.push(loaded.policy);
  rulePaths(value).forEach((path, index) =>
    (scope.out.sites ??= []).push({ policy: loaded.policy, index, path }),
  );
}

function collectFile(
  file: string,
  input: string | Uint8Array,
  out: PolicyCollection,
  names: Map<string, NameSeen>,
): void {
  const decoded = decode(file, input);
  if ('error' in decoded) {
    out.errors.push(decoded.error);
    return;
  }
  const { text } = decoded;
  // Bounded before the yaml library builds anything: it spends about 1 KB and a stack frame per node.
  const limit = prescanYaml(text);
  if (limit !== undefined) {
    out.errors.push({ file, ...positionInText(text, limit.offset), path: '', message: limit.message });
    return;
  }
  const lineCounter = new LineCounter();
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line: Math.max(1, line), column: Math.max(1, col) };
  };
  const scope: FileScope = { file, text, out, names, position };
  // One document at a time (not parseAllDocuments): each is validated and dropped before the next is
  // composed, so a file's cost is its largest document, not all of them at once. logLevel error:
  // yaml's warnings (e.g. collection keys) become our errors, never process warnings.
  const composer = new Composer({ uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  // Documents that hold something, broken ones included: a file whose only document is broken has
  // an error, not also a "no policy documents" warning.
  let policyDocuments = 0;
  for (const document of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    const problems = reportYamlProblems(scope, document, true);
    if (problems === 'broken') policyDocuments++;
    if (problems === 'broken' || isEmptyDocument(document)) continue;
    policyDocuments++;
    if (problems === 'duplicates') dropDuplicateKeys(scope, document.contents, []);
    collectDocument(scope, document, problems === 'duplicates');
  }
  if (policyDocuments === 0) out.warnings.push({ message: `${file}: no policy documents in this file` });
}

/** Reads every file's documents; never throws (an unexpected failure becomes an error at the file). */
export function collectPolicies(files: readonly PolicyText[], options: ParseOptions = {}): PolicyCollection {
  const out: PolicyCollection = { policies: [], errors: [], warnings: [] };
  const names = new Map<string, NameSeen>();
  for (const { file, text } of files) {
    try {
      collectFile(file, text, out, names);
    } catch (error) {
      out.errors.push({
        file,
        line: 1,
        column: 1,
        path: '',
        message: `could not read this file (${error instanceof Error ? error.message : String(error)}); this is a bug in sg-reconciler, please report it`,
      });
    }
  }
  // Across the whole set: every desired rule against every guardrail, wherever each was written.
  const guardrails = out.guardrails ?? [];
  const today = utcDate(options.now ?? new Date());
  out.errors.push(...guardrailErrors(out.sites ?? [], guardrails, today));
  out.warnings.push(...exceptionWarnings(out.policies, guardrails));
  return out;
}

/** Errors in reading order: file, line, column, then path and message for a stable result. */
export function sortErrors(errors: readonly PolicyError[]): PolicyError[] {
  const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const seen = new Set<string>();
  return [...errors]
    .sort(
      (a, b) =>
        compare(a.file, b.file) ||
        a.line - b.line ||
        a.column - b.column ||
        compare(a.path, b.path) ||
        compare(a.message, b.message),
    )
    .filter((error) => {
      const key = JSON.stringify([error.file, error.line, error.column, error.path, error.message]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** The verdict on a collection: valid only if there is no error at all. */
export function toLoadResult(collection: PolicyCollection, files: readonly string[]): PolicyLoadResult {
  if (collection.errors.length > 0) {
    return {
      ok: false,
      errors: sortErrors(collection.errors),
      files,
      ...(collection.warnings.length > 0 ? { warnings: collection.warnings } : {}),
    };
  }
  const guardrails = collection.guardrails ?? [];
  return {
    ok: true,
    policies: collection.policies,
    ...(guardrails.length > 0 ? { guardrails } : {}),
    files,
    warnings: collection.warnings,
  };
}

/** Validates and normalises already-read policy files. Pure and total: it never throws. */
export function parsePolicyTexts(files: readonly PolicyText[], options: ParseOptions = {}): PolicyLoadResult {
  return toLoadResult(
    collectPolicies(files, options),
    files.map((entry) => entry.file),
  );
}

/** One YAML document of a file that parsed into a mapping, with a way to locate its fields. */
export interface ParsedDocument {
  readonly value: Record<string, unknown>;
  readonly locate: (segments: readonly Segment[], at?: 'value' | 'key') => SourcePosition;
}

/**
 * The document-independent steps of the pipeline for other files the tool reads (the account
 * inventory): decode, pre-scan, YAML (duplicate keys, depth, aliases), each non-empty document as a
 * plain mapping. Problems become located errors in `errors`; `what` names the document expected and
 * `fields` its top-level fields. Returns the documents that got that far and how many non-empty
 * documents the file held.
 */
export function readYamlDocuments(
  file: string,
  input: string | Uint8Array,
  errors: PolicyError[],
  what: string,
  fields: string,
): { documents: ParsedDocument[]; nonEmpty: number } {
  const documents: ParsedDocument[] = [];
  const out: PolicyCollection = { policies: [], errors, warnings: [] };
  const decoded = decode(file, input);
  if ('error' in decoded) {
    errors.push(decoded.error);
    return { documents, nonEmpty: 0 };
  }
  const { text } = decoded;
  const limit = prescanYaml(text);
  if (limit !== undefined) {
    errors.push({ file, ...positionInText(text, limit.offset), path: '', message: limit.message });
    return { documents, nonEmpty: 0 };
  }
  const lineCounter = new LineCounter();
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line: Math.max(1, line), column: Math.max(1, col) };
  };
  const scope: FileScope = { file, text, out, names: new Map(), position };
  const composer = new Composer({ uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  let nonEmpty = 0;
  for (const document of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    if (reportYamlProblems(scope, document) !== 'none' || isEmptyDocument(document)) continue;
    nonEmpty++;
    const read = documentValue(scope, document);
    if (read === undefined) continue;
    if (!isRecord(read.value)) {
      errors.push({
        ...position(document.contents?.range?.[0] ?? 0),
        path: '',
        message: `${what} must be a mapping with ${fields}, not ${describeShape(read.value)}`,
      });
      continue;
    }
    documents.push({
      value: read.value,
      locate: (segments, at = 'value') => position(locateOffset(document, segments, at)),
    });
  }
  return { documents, nonEmpty };
}
