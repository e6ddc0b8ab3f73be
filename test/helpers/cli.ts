// Runs the built CLI (dist/cli/main.js) the way users do, and parses its JSON event lines.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, found upwards from this file, so the path holds both from test/helpers/ and
 * from the benchmarks' compiled copy under .cache/bench-build/.
 */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes('"name": "sg-reconciler"'))
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('could not find the sg-reconciler repository root');
    dir = parent;
  }
}

export const ROOT = repoRoot();
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** One pino line as a plain object; `event` is the contract's event name. */
export type Event = Record<string, unknown> & { event?: string };

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Events parsed from stdout (apply, run) or stderr (plan, validate), whichever holds JSON lines. */
  readonly events: Event[];
  readonly durationMs: number;
}

export function parseEvents(text: string): Event[] {
  const events: Event[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as Event);
    } catch {
      // not an event line (e.g. a JSON plan document spans several lines)
    }
  }
  return events.filter((e) => typeof e.event === 'string');
}

/** Environment for talking to moto: dummy credentials, no profile files, the endpoint. */
export function motoEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    SGR_ENDPOINT: endpoint,
    ...extra,
  };
}

export function runCli(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const fromStdout = parseEvents(stdout);
      resolve({
        code,
        stdout,
        stderr,
        events: fromStdout.length > 0 ? fromStdout : parseEvents(stderr),
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Whether util-linux `script` is here to give the CLI a pseudo-terminal (runCliInTerminal). */
export const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Runs the built CLI with stdout and stderr on one pseudo-terminal, as a person at a shell sees it
 * (util-linux `script`). Returns what the terminal showed, with CRLF turned back into LF.
 */
export function runCliInTerminal(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<{ code: number | null; output: string }> {
  const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: options.cwd ?? ROOT,
      env: { ...options.env, TERM: 'dumb' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replace(/\r\n/g, '\n') });
    });
  });
}

/** Writes policy files (relative path -> YAML text) into a new temporary directory. */
export async function writePolicies(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sgr-policies-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  return dir;
}

export function eventsNamed(events: readonly Event[], name: string): Event[] {
  return events.filter((e) => e.event === name);
}
