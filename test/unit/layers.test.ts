// The layering of STYLE.md, proved over the whole import graph (type imports included), not one file:
// the pure core (model/ and the planner) reaches no I/O, no AWS edge and no logger, however
// indirectly; the daemon never imports the CLI. ESLint's no-restricted-imports says the same per file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every module specifier of a file: import/export ... from, and dynamic import(). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ];
  return found.map((m) => m[1] as string);
}

/** Files reached from `roots` through relative imports, and every bare specifier on the way. */
function closure(roots: readonly string[]): { files: Set<string>; external: Map<string, string> } {
  const files = new Set<string>();
  const external = new Map<string, string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.set(spec, relative(SRC, file));
    }
  }
  return { files, external };
}

describe('layers', () => {
  it('the pure core (model/, reconcile/plan.ts) reaches only model/ and reconcile types, and no I/O', () => {
    const roots = [...sources(join(SRC, 'model')), join(SRC, 'reconcile/plan.ts')];
    const { files, external } = closure(roots);
    const reached = [...files].map((f) => relative(SRC, f)).sort();
    const allowed = (f: string): boolean =>
      f.startsWith('model/') || f === 'reconcile/plan.ts' || f === 'reconcile/types.ts';
    expect(reached.filter((f) => !allowed(f))).toEqual([]);
    // Pure computation only: address arithmetic, glob matching, hashing (a unit's shard).
    const pure = new Set(['ipaddr.js', 'picomatch', 'node:crypto']);
    expect([...external.keys()].filter((spec) => !pure.has(spec))).toEqual([]);
  });

  it('only src/aws/ imports the AWS SDK', () => {
    const offenders = sources(SRC)
      .filter((f) => !relative(SRC, f).startsWith('aws/'))
      .filter((f) => specifiers(f).some((s) => s.startsWith('@aws-sdk/') || s.startsWith('@smithy/')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it('the daemon never imports the CLI', () => {
    const { files } = closure(sources(join(SRC, 'daemon')));
    expect([...files].map((f) => relative(SRC, f)).filter((f) => f.startsWith('cli/'))).toEqual([]);
  });
});
