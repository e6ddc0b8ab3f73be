// The yaml library's findings as errors a person can act on. One indentation mistake makes the
// library report two or three findings (the mistake and what it made of the lines after), often at
// column 1 of the line and in the parser's terms ("implicit keys", "compact mappings"). Here a
// document's syntax findings become one error at the key that is out of place, saying how far to
// indent it; duplicate keys stay one error each. Pure: text in, offsets and sentences out.

/** One finding of the yaml library: its code (`BAD_INDENT`, ...), message and offset range. */
export interface YamlProblem {
  readonly code: string;
  readonly message: string;
  readonly pos: readonly [number, number];
}

/** One error to report: where (an offset into the text) and what to write. */
export interface YamlFinding {
  readonly offset: number;
  readonly message: string;
}

interface Line {
  readonly start: number;
  readonly text: string;
}

/** The line holding `offset`. */
function lineAt(text: string, offset: number): Line {
  const start = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const end = text.indexOf('\n', start);
  return { start, text: text.slice(start, end === -1 ? text.length : end).replace(/\r$/, '') };
}

/** The next line after `line` that holds more than blanks or a comment, if any. */
function nextContentLine(text: string, line: Line): Line | undefined {
  let start = line.start + line.text.length + 1;
  while (start < text.length) {
    const next = lineAt(text, start);
    if (next.text.trim() !== '' && !next.text.trim().startsWith('#')) return next;
    start = next.start + next.text.length + 1;
  }
  return undefined;
}

/** The content line before `line`, if any. */
function previousContentLine(text: string, line: Line): Line | undefined {
  let end = line.start - 1;
  while (end > 0) {
    const previous = lineAt(text, end);
    if (previous.text.trim() !== '' && !previous.text.trim().startsWith('#')) return previous;
    end = previous.start - 1;
  }
  return undefined;
}

/** A key that a line below it may stand beside: its line and indentation. */
interface OpenKey {
  readonly indent: number;
  readonly line: Line;
}

/**
 * The keys still open at `line`: the nearest content line above it, then each line above that is
 * indented less than the last one found (its parent, grandparent, ... up to column 1).
 */
function openKeys(text: string, line: Line): OpenKey[] {
  const keys: OpenKey[] = [];
  let previous = previousContentLine(text, line);
  while (previous !== undefined) {
    const indent = keyIndent(previous);
    const last = keys.at(-1);
    if (last === undefined || indent < last.indent) keys.push({ indent, line: previous });
    if (indent === 0) break;
    previous = previousContentLine(text, previous);
  }
  return keys;
}

/** Spaces before the line's content (a list item's `- ` counts, as it does for its keys). */
function keyIndent(line: Line): number {
  return /^[ ]*(?:-[ ]+)*/.exec(line.text)?.[0].length ?? 0;
}

/** The offset of the line's first character that is not indentation. */
function contentOffset(line: Line): number {
  return line.start + (/^[ \t]*/.exec(line.text)?.[0].length ?? 0);
}

/** `"sources:"`: the key a line starts, or its first word. */
function keyOf(line: Line): string {
  const content = line.text.trim().replace(/^(?:-\s+)+/, '');
  const key = /^([^:#]+):(\s|$)/.exec(content)?.[1]?.trim();
  return JSON.stringify(key !== undefined ? `${key}:` : content.slice(0, 30));
}

const spaces = (n: number): string => `${n} ${n === 1 ? 'space' : 'spaces'}`;

/** The first syntax problem of a document in words, at the key that is out of place. */
function syntaxFinding(text: string, problem: YamlProblem): YamlFinding {
  const line = lineAt(text, problem.pos[0]);
  const fix = '; fix the YAML here (check the indentation and quoting)';
  switch (problem.code) {
    case 'TAB_AS_INDENT':
      return {
        offset: problem.pos[0],
        message: 'a tab indents this line; YAML indents with spaces only, so replace the tab with spaces',
      };
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY': {
      // The value on this line is followed by a line indented deeper: YAML reads both as one key.
      const next = nextContentLine(text, line);
      if (next === undefined) break;
      return {
        offset: contentOffset(next),
        message: `${keyOf(next)} is indented more than ${keyOf(line)} above it, so YAML reads it as part of that value; indent it by ${spaces(keyIndent(line))}, like ${keyOf(line)}`,
      };
    }
    case 'MISSING_CHAR':
    case 'BAD_INDENT': {
      if (problem.code === 'MISSING_CHAR' && !/without - indicator/.test(problem.message)) break;
      const here = keyIndent(line);
      const [nearest, other] = [...openKeys(text, line)].sort(
        (a, b) => Math.abs(a.indent - here) - Math.abs(b.indent - here) || b.indent - a.indent,
      );
      const beside = (key: OpenKey): string => `by ${spaces(key.indent)}, beside ${keyOf(key.line)}`;
      const advice =
        nearest === undefined
          ? 'indent it like the other keys of its mapping'
          : `indent it ${beside(nearest)}${other !== undefined ? `, or ${beside(other)}` : ''}`;
      return {
        offset: contentOffset(line),
        message: `${keyOf(line)} is indented by ${spaces(here)}, which matches no mapping above it; ${advice}`,
      };
    }
  }
  return { offset: problem.pos[0], message: `YAML syntax error: ${problem.message}${fix}` };
}

/**
 * The errors of one document's yaml findings: every duplicate key (`keyAt` gives its text), and
 * of the syntax findings only the first (the others are what the parser made of the lines after
 * it), placed at the key out of place and saying how far to indent it where the code tells.
 */
export function yamlFindings(
  text: string,
  problems: readonly YamlProblem[],
  keyAt: (offset: number) => string,
): YamlFinding[] {
  const findings: YamlFinding[] = [];
  const sorted = [...problems].sort((a, b) => a.pos[0] - b.pos[0]);
  const syntax = sorted.find((problem) => problem.code !== 'DUPLICATE_KEY');
  for (const problem of sorted) {
    if (problem.code === 'DUPLICATE_KEY') {
      findings.push({
        offset: problem.pos[0],
        message: `duplicate key ${JSON.stringify(keyAt(problem.pos[0]))}; a key may appear only once in a mapping, so merge or remove the repeated one`,
      });
    } else if (problem === syntax) {
      findings.push(
        problem.code === 'TAG_RESOLVE_FAILED'
          ? {
              offset: problem.pos[0],
              message: `${problem.message}; policies use plain YAML, so remove the tag`,
            }
          : syntaxFinding(text, problem),
      );
    }
  }
  return findings;
}
