// Every command offers only the options it reads (issue 13: import offered --policies and ignored
// it; plan once offered --write-rate). The table below is which options each command takes; the
// program's --help and the README's options table must both agree with it, so an option added to a
// shared helper shows up here as one a command does not take.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT } from '../helpers/cli.js';

const LOGGING = ['--log-level', '--log-format'];
const POLICIES = ['--policies', ...LOGGING, '--accounts'];
const AWS = ['--region', '--endpoint', '--role-name', '--shard', '--concurrency'];

/** The options each command takes, and reads. */
const TAKES: Readonly<Record<string, readonly string[]>> = {
  validate: POLICIES,
  plan: [
    ...POLICIES,
    ...AWS,
    '--max-rules-per-group',
    '--format',
    '--detailed-exitcode',
    '--fail-on-unresolved',
    '--update-descriptions',
    '--snapshot',
  ],
  apply: [
    ...POLICIES,
    ...AWS,
    '--max-rules-per-group',
    '--dry-run',
    '--write-rate',
    '--fail-on-unresolved',
    '--update-descriptions',
  ],
  run: [
    ...POLICIES,
    ...AWS,
    '--max-rules-per-group',
    '--dry-run',
    '--write-rate',
    '--schedule',
    '--listen',
    '--timezone',
    '--update-descriptions',
    '--pass-timeout',
  ],
  snapshot: [...POLICIES, ...AWS, '--out'],
  // import writes policies and reads none: no --policies.
  import: [
    ...LOGGING,
    '--accounts',
    ...AWS,
    '--out',
    '--group-id',
    '--tag',
    '--all',
    '--snapshot',
    '--force',
  ],
};
const COMMANDS = Object.keys(TAKES);

/** The long options a command's --help lists (its own, not --help itself). */
function helpOptions(command: string): string[] {
  const sub = buildProgram(() => undefined).commands.find((c) => c.name() === command);
  if (sub === undefined) throw new Error(`no command ${command}`);
  const options = sub.helpInformation().split('\nOptions:\n')[1] ?? '';
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)]
    .map((m) => m[1] as string)
    .filter((o) => o !== '--help');
}

/** The README options table: option -> the commands its "commands" column starts with. */
function readmeTable(): Map<string, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of readme.split('\n')) {
    if (!line.startsWith('| `--')) continue;
    // Cells split on unescaped pipes (`json\|pretty` is one cell).
    const cells = line
      .replace(/\\\|/g, '\0')
      .split('|')
      .map((cell) => cell.trim());
    const option = /^`(--[a-z-]+)/.exec(cells[1] ?? '')?.[1] as string;
    const column = cells[4] ?? '';
    const head =
      /^((?:all|validate|plan|apply|run|snapshot|import)(?:, (?:validate|plan|apply|run|snapshot|import))*)(?=$|[:;( ])/.exec(
        column,
      )?.[1];
    if (head === undefined)
      throw new Error(`README row ${option}: the commands column must start with the commands: ${column}`);
    rows.set(option, head === 'all' ? COMMANDS : head.split(', '));
  }
  return rows;
}

describe('the options of each command', () => {
  it.each(COMMANDS)('%s --help lists exactly the options it takes', (command) => {
    expect(helpOptions(command).sort()).toEqual([...(TAKES[command] ?? [])].sort());
  });

  it('import takes no --policies (it writes policies, it reads none), and no command lists --now', () => {
    expect(helpOptions('import')).not.toContain('--policies');
    for (const command of COMMANDS) expect(helpOptions(command)).not.toContain('--now');
  });

  it('the README options table names, for each option, exactly the commands that take it', () => {
    const table = readmeTable();
    const options = [...new Set(Object.values(TAKES).flat())].sort();
    expect([...table.keys()].sort()).toEqual(options);
    for (const option of options) {
      const takers = COMMANDS.filter((c) => TAKES[c]?.includes(option));
      expect([...(table.get(option) ?? [])].sort(), option).toEqual(takers.sort());
    }
  });
});
