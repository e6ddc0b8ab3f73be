// The event table is the one source of every event's level and message: the README lists exactly
// its events, every message is a constant sentence, and no code outside src/events.ts writes an
// event line of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, report, tableEntries } from '../../src/events.js';
import { createLogger } from '../../src/logging.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function readmeEvents(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Events'),
    readme.indexOf('\n## ', readme.indexOf('\n## Events') + 1),
  );
  return [...section.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1] as string);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the event table', () => {
  it('lists exactly the events of the README, each once', () => {
    const listed = readmeEvents();
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...EVENT_NAMES].sort());
  });

  it('gives every event and variant a constant sentence (values live in fields)', () => {
    for (const entry of tableEntries()) {
      if (entry.msg === undefined) {
        // Only node-cron's own fixed texts pass through.
        expect(entry.variant).toMatch(/^cron-/);
        continue;
      }
      expect(entry.msg.length).toBeGreaterThan(5);
      expect(entry.msg).not.toMatch(/\$\{|%[sdjo]|\{\w+\}/);
      expect(['error', 'warn', 'info', 'debug']).toContain(entry.level);
    }
  });

  it('report writes the event name, the table level and message, and the fields', () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const log = createLogger({ level: 'debug', destination: stream });
    report(log, ['reconcile.skipped', 'overlap'], { reason: 'overlap' });
    report(log, 'rule.outcome_unknown', { groupId: 'sg-1' });
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'reconcile.skipped',
        level: 'warn',
        reason: 'overlap',
        msg: 'reconcile pass skipped: the previous pass is still running',
      }),
      expect.objectContaining({ event: 'rule.outcome_unknown', level: 'error', groupId: 'sg-1' }),
    ]);
  });

  it('no module but src/events.ts writes an event field to a logger', () => {
    const offenders = sources(join(ROOT, 'src'))
      .filter((f) => !f.endsWith(join('src', 'events.ts')))
      .filter((f) => /\{\s*event:\s*['"`]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
