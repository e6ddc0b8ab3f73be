// Argument parsing and wiring. Options come from flags, then environment variables,
// then defaults (commander applies that precedence); every outcome becomes an exit code in exit-codes.ts.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runApply, runPlan, runRunCommand, runValidate } from './commands.js';
import { EXIT_INVALID, EXIT_OK } from './exit-codes.js';

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Raw option values as commander hands them over (strings; parsed and checked in commands.ts). */
export interface RawOptions {
  policies: string[];
  region?: string;
  endpoint?: string;
  logLevel: string;
  maxRulesPerGroup: string;
  writeRate: string;
  format?: string;
  detailedExitcode?: boolean;
  snapshot?: string;
  dryRun?: boolean;
  schedule?: string;
  listen?: string;
  timezone?: string;
  passTimeout?: string;
}

const DEFAULT_POLICY_PATHS: readonly string[] = ['./policies'];

/** `--policies a b --policies c` is [a, b, c]; the first value given replaces the default. */
function collectPaths(value: string, previous: readonly string[] | undefined): string[] {
  return previous === undefined || previous === DEFAULT_POLICY_PATHS ? [value] : [...previous, value];
}

function withCommon(command: Command, opts: { aws: boolean }): Command {
  command.addOption(
    new Option(
      '--policies <dir...>',
      'policy directories (every *.yaml/*.yml below, recursively) or policy files; several allowed',
    )
      .env('SGR_POLICIES')
      .argParser(collectPaths)
      .default(DEFAULT_POLICY_PATHS, './policies'),
  );
  if (opts.aws) {
    command
      .addOption(
        new Option('--region <name>', 'default region for policies that name none').env('AWS_REGION'),
      )
      .addOption(
        new Option('--endpoint <url>', 'EC2 endpoint override, e.g. a local emulator').env('SGR_ENDPOINT'),
      )
      .addOption(
        new Option('--write-rate <per-second>', 'AuthorizeSecurityGroupIngress calls per second per region')
          .env('SGR_WRITE_RATE')
          .default('3'),
      )
      .addOption(
        new Option('--max-rules-per-group <n>', 'the per-group rule quota the plan projects against')
          .env('SGR_MAX_RULES_PER_GROUP')
          .default('60'),
      );
  }
  command.addOption(
    new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
      .env('LOG_LEVEL')
      .default('info'),
  );
  return command;
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('sg-reconciler')
    .description(
      'Authorize the security-group ingress rules your YAML policies declare and EC2 lacks; never revoke.',
    )
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run sg-reconciler --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  withCommon(program.command('validate').description('load and validate every policy; no AWS call'), {
    aws: false,
  }).action(async (options: RawOptions) => onExit(await runValidate(options)));

  withCommon(
    program
      .command('plan')
      .description('read live state and print what apply would authorize and what drift exists; no writes'),
    { aws: true },
  )
    .addOption(
      new Option('--format <format>', 'report format').choices(['text', 'json', 'markdown']).default('text'),
    )
    .option('--detailed-exitcode', 'exit 2 when changes are pending', false)
    .option('--snapshot <file>', 'plan offline against the JSON output of `aws ec2 describe-security-groups`')
    .action(async (options: RawOptions) => onExit(await runPlan(options)));

  withCommon(
    program.command('apply').description('one reconcile pass: authorize the missing rules, then exit'),
    { aws: true },
  )
    .option('--dry-run', 'call AuthorizeSecurityGroupIngress with DryRun=true; change nothing', false)
    .action(async (options: RawOptions) => onExit(await runApply(options)));

  withCommon(
    program
      .command('run')
      .description('the daemon: reconcile now, then on the schedule, until SIGTERM/SIGINT'),
    { aws: true },
  )
    .option('--dry-run', 'call AuthorizeSecurityGroupIngress with DryRun=true; change nothing', false)
    .addOption(
      new Option('--schedule <cron>', 'cron expression (seconds field optional)')
        .env('SGR_SCHEDULE')
        .default('*/5 * * * *'),
    )
    .addOption(
      new Option('--listen <host:port>', 'HTTP address for /healthz, /readyz, /metrics')
        .env('SGR_LISTEN')
        .default('0.0.0.0:9464'),
    )
    .addOption(new Option('--timezone <tz>', 'time zone of the schedule').env('SGR_TIMEZONE').default('UTC'))
    .addOption(
      new Option('--pass-timeout <seconds>', 'abort a pass that runs longer than this')
        .env('SGR_PASS_TIMEOUT')
        .default('240'),
    )
    .action(async (options: RawOptions) => onExit(await runRunCommand(options)));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let code: number | undefined;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; unknown commands/options are invalid input.
      return error.exitCode === 0 ? EXIT_OK : EXIT_INVALID;
    }
    throw error;
  }
  if (code === undefined) {
    program.outputHelp();
    return EXIT_INVALID;
  }
  return code;
}
