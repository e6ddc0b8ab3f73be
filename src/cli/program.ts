// Argument parsing and wiring. Options come from flags, then environment variables, then defaults
// (commander applies that precedence); each value goes through its parser in options.ts on the way
// in, so the commands receive typed options. Every outcome becomes an exit code in exit-codes.ts.
import { hostname } from 'node:os';
import { delimiter } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option, type ErrorOptions } from 'commander';
import { report } from '../events.js';
import { packageVersion } from '../version.js';
import {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  redactUrlCredentials,
  type LogFormat,
  type LogLevel,
} from '../logging.js';
import { runApply, runPlan, runRunCommand, runValidate } from './commands.js';
import type { LogOptions } from './config.js';
import { runImport } from './import.js';
import { runSnapshot } from './snapshot.js';
import { EXIT_INVALID, EXIT_OK } from './exit-codes.js';
import { PLAN_FORMATS } from './render-plan.js';
import {
  collectGroupIds,
  collectPaths,
  collectTags,
  DEFAULTS,
  MAX_TIMER_SECONDS,
  parseAccounts,
  parseEndpoint,
  parseEnvBoolean,
  parseListen,
  parseLogLevel,
  NOW_VARIABLE,
  parseNow,
  parsePositiveInt,
  parsePositiveNumber,
  parseRegion,
  parseRoleName,
  parseSchedule,
  parseShard,
  parseTimezone,
  SDK_ENDPOINT_VARIABLES,
  sdkEndpointProblem,
} from './options.js';

/**
 * commander's wording of a value a parser refused: `error: option '<flags>' argument '<value>' is
 * invalid. <the parser's sentence>`, or `... value '<value>' from env '<VAR>' is invalid. <...>`.
 */
const INVALID_VALUE =
  /^error: option '(--[a-z-]+)[^']*' (?:argument '[\s\S]*'|value '([\s\S]*)' from env '(\w+)') is invalid\. ([\s\S]*)$/;

/**
 * The message of an option value our parsers (options.ts) refused, said once: their sentence already
 * names the option and the value, so commander's preamble, which repeats both, is dropped. A value
 * from the environment is named by its variable (`SGR_LISTEN="localhost:99999": ...`), and so is the
 * example it gives (`write e.g. SGR_MAX_RULES_PER_GROUP=60`). Messages of
 * commander's own checks (choices: "Allowed choices are ...") keep commander's wording, which is the
 * only place they name the option.
 */
export function plainInvalidValue(message: string): string {
  const match = INVALID_VALUE.exec(message);
  if (match === null) return message;
  const [, option = '', value, envVar, sentence = ''] = match;
  if (!sentence.startsWith(option) && !(envVar !== undefined && sentence.startsWith(`${envVar}=`))) {
    return message;
  }
  if (envVar === undefined || sentence.startsWith(`${envVar}=`)) return `error: ${sentence}`;
  const quoted = `${option} ${JSON.stringify(value)}`;
  const head = sentence.startsWith(quoted) ? `${envVar}=${JSON.stringify(value)}` : envVar;
  // The example the sentence gives is written for the flag: give it for the variable too.
  const rest = sentence.slice(sentence.startsWith(quoted) ? quoted.length : option.length);
  return `error: ${head}${rest.replaceAll(`${option} `, `${envVar}=`)}`;
}

/** The option an invalid-value message names: `--listen`, or the option whose variable it names. */
function optionNamed(program: Command, message: string): string | undefined {
  const flag = /^error: (?:option ')?(--[a-z-]+)/.exec(message)?.[1];
  if (flag !== undefined) return flag;
  const envVar = /^error: ([A-Z][A-Z0-9_]*)[= ]/.exec(message)?.[1];
  if (envVar === undefined) return undefined;
  // The SDK's endpoint variables stand in for --endpoint when neither it nor SGR_ENDPOINT is set.
  if ((SDK_ENDPOINT_VARIABLES as readonly string[]).includes(envVar)) return '--endpoint';
  const options = [program, ...program.commands].flatMap((c) => c.options);
  return options.find((o) => o.envVar === envVar)?.long;
}

/** commander's Command, with option-value errors said once (plainInvalidValue), subcommands alike. */
class ProgramCommand extends Command {
  override createCommand(name?: string): ProgramCommand {
    return new ProgramCommand(name);
  }

  override error(message: string, errorOptions?: ErrorOptions): never {
    return super.error(plainInvalidValue(message), errorOptions);
  }
}

const DRY_RUN = 'call AuthorizeSecurityGroupIngress with DryRun=true; change nothing';

/** Options of every command: how its events are logged. */
function withLogging(command: Command): Command {
  return command
    .addOption(
      new Option('--log-level <level>', LOG_LEVELS.join(', '))
        .env('LOG_LEVEL')
        .argParser(parseLogLevel)
        .default(DEFAULTS.logLevel),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'json (one JSON object per line) or pretty (one readable line per event); default: pretty on a terminal, else json',
      )
        .env('SGR_LOG_FORMAT')
        .choices(LOG_FORMATS),
    );
}

/** `--accounts`: the account inventory (every command but import reads policies too). */
function withAccounts(command: Command): Command {
  return command.addOption(
    new Option(
      '--accounts <file|organizations>',
      'the account inventory: a kind: AccountInventory file, or organizations (AWS Organizations); validate checks account selectors against a file offline',
    )
      .env('SGR_ACCOUNTS')
      .argParser(parseAccounts),
  );
}

/** The commands that load policies (all but import, which writes them). */
function withPolicies(command: Command): Command {
  return withAccounts(
    withLogging(
      command.addOption(
        new Option(
          '--policies <dir...>',
          `policy directories (every *.yaml/*.yml below, recursively) or policy files; several allowed (SGR_POLICIES: separated by "${delimiter}")`,
        )
          .env('SGR_POLICIES')
          .argParser(collectPaths)
          .default(DEFAULTS.policies, DEFAULTS.policies.join(' ')),
      ),
    ),
  );
}

/** The options of every command that reads AWS (plan, apply, run, snapshot, import). */
function withAws(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--region <name>',
        'default region for policies that name none (else AWS_DEFAULT_REGION, then the shared config profile)',
      )
        .env('AWS_REGION')
        .argParser((value) => parseRegion(value)),
    )
    .addOption(
      new Option(
        '--endpoint <url>',
        'endpoint override for EC2, STS and Organizations, e.g. a local emulator',
      )
        .env('SGR_ENDPOINT')
        .argParser(parseEndpoint),
    )
    .addOption(
      new Option('--role-name <name>', 'the role assumed in each account found by --accounts organizations')
        .env('SGR_ROLE_NAME')
        .argParser(parseRoleName)
        .default(DEFAULTS.roleName),
    )
    .addOption(
      new Option(
        '--shard <K/N|N>',
        'handle only shard K of N of the (account, region) units; N alone takes K from JOB_COMPLETION_INDEX or the host name ordinal',
      )
        .env('SGR_SHARD')
        .argParser((value) => parseShard(value, process.env, hostname())),
    )
    .addOption(
      new Option('--concurrency <n>', '(account, region) units worked on at once')
        .env('SGR_CONCURRENCY')
        .argParser((value) => parsePositiveInt('--concurrency', value, DEFAULTS.concurrency))
        .default(DEFAULTS.concurrency),
    );
}

/** The commands that plan (plan, apply, run): the per-group rule quota the plan projects against. */
function withQuota(command: Command): Command {
  return command.addOption(
    new Option('--max-rules-per-group <n>', 'the per-group rule quota the plan projects against')
      .env('SGR_MAX_RULES_PER_GROUP')
      .argParser((value) => parsePositiveInt('--max-rules-per-group', value, DEFAULTS.maxRulesPerGroup))
      .default(DEFAULTS.maxRulesPerGroup),
  );
}

function withWrites(command: Command): Command {
  return withQuota(withAws(withPolicies(command)))
    .option('--dry-run', DRY_RUN, false)
    .addOption(
      new Option(
        '--write-rate <per-second>',
        'AuthorizeSecurityGroupIngress calls per second per (account, region) unit',
      )
        .env('SGR_WRITE_RATE')
        .argParser((value) =>
          parsePositiveNumber('--write-rate', value, {
            value: 0.001,
            why: 'one write every 1,000 s; a slower pace cannot be timed',
          }),
        )
        .default(DEFAULTS.writeRate),
    );
}

const FAIL_ON_UNRESOLVED = 'exit 1 when a policy target matched no security group (strict mode for CI)';

/** `--update-descriptions` (plan, apply, run); its variable is read by envBooleans. */
function updateDescriptionsOption(does: string): Option {
  return new Option('--update-descriptions', does).env('SGR_UPDATE_DESCRIPTIONS').default(false);
}

/**
 * Commander takes any value of a boolean flag's environment variable as "set" (so
 * `SGR_UPDATE_DESCRIPTIONS=false` would mean true): before the action runs, a boolean whose value
 * came from its variable is parsed again with parseEnvBoolean, and a value that is no boolean is
 * invalid input, reported as commander reports a bad variable of any other option.
 */
function envBooleans(_program: Command, command: Command): void {
  for (const option of command.options) {
    const name = option.attributeName();
    if (!option.isBoolean() || option.envVar === undefined) continue;
    if (command.getOptionValueSource(name) !== 'env') continue;
    const raw = process.env[option.envVar] ?? '';
    try {
      command.setOptionValueWithSource(name, parseEnvBoolean(option.envVar, raw), 'env');
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      command.error(
        `error: option '${option.flags}' value '${raw}' from env '${option.envVar}' is invalid. ${error.message}`,
        { code: error.code, exitCode: EXIT_INVALID },
      );
    }
  }
}

/**
 * SGR_NOW, the test hook that fixes the moment guardrail exceptions are judged by (parseNow): read
 * from the environment only, never an option, so no --help or error names a flag for it. An
 * unreadable value is invalid input (exit 3, config.invalid without an `option`), checked before
 * the action runs like a boolean variable.
 */
function checkNow(_program: Command, command: Command): void {
  const raw = process.env[NOW_VARIABLE];
  if (raw === undefined) return;
  try {
    parseNow(raw);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    command.error(`error: ${error.message}`, { code: error.code, exitCode: EXIT_INVALID });
  }
}

/**
 * The SDK's own endpoint variables (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_EC2 / _STS /
 * _ORGANIZATIONS), which the SDK would read on the first call and fail with a bare "Invalid URL":
 * checked once before a command that reaches AWS (one with --endpoint) runs, like --endpoint /
 * SGR_ENDPOINT: an unusable value is invalid input (exit 3, config.invalid naming the variable).
 */
function checkSdkEndpoints(_program: Command, command: Command): void {
  if (!command.options.some((option) => option.long === '--endpoint')) return;
  const problem = sdkEndpointProblem(process.env);
  if (problem !== undefined) {
    command.error(`error: ${problem}`, { code: 'commander.invalidArgument', exitCode: EXIT_INVALID });
  }
}

/**
 * The options as the command's action receives them, with SGR_POLICIES split into its paths
 * (a flag gives one path per value; the variable holds them all, like PATH).
 */
function optionsOf<T extends LogOptions>(command: Command): T {
  const options = command.opts<T & { policies?: readonly string[] }>();
  const fixed = process.env[NOW_VARIABLE];
  const now = fixed === undefined ? undefined : parseNow(fixed);
  const clock = now === undefined ? () => new Date() : () => new Date(now.getTime());
  if (options.policies !== undefined && command.getOptionValueSource('policies') === 'env') {
    const paths = options.policies.flatMap((value) => value.split(delimiter)).filter((p) => p !== '');
    return { ...options, clock, policies: paths.length > 0 ? paths : DEFAULTS.policies } as unknown as T;
  }
  return { ...options, clock } as unknown as T;
}

/** `run`, the daemon, with its schedule, listen address, time zone and pass timeout. */
function addRunCommand(program: Command, onExit: (code: number) => void): void {
  withWrites(
    program
      .command('run')
      .description('the daemon: reconcile now, then on the schedule, until SIGTERM/SIGINT'),
  )
    .addOption(
      new Option('--schedule <cron>', 'cron expression (seconds field optional)')
        .env('SGR_SCHEDULE')
        .argParser(parseSchedule)
        .default(DEFAULTS.schedule),
    )
    .addOption(
      new Option('--listen <host:port>', 'HTTP address for /healthz, /readyz, /metrics')
        .env('SGR_LISTEN')
        .argParser(parseListen)
        .default(DEFAULTS.listen, `${DEFAULTS.listen.host}:${DEFAULTS.listen.port}`),
    )
    .addOption(
      new Option('--timezone <tz>', 'time zone of the schedule')
        .env('SGR_TIMEZONE')
        .argParser(parseTimezone)
        .default(DEFAULTS.timezone),
    )
    .addOption(
      updateDescriptionsOption(
        'every pass sets the policy description on declared rules whose live description differs (UpdateSecurityGroupRuleDescriptionsIngress; access unchanged)',
      ),
    )
    .addOption(
      new Option('--pass-timeout <seconds>', 'abort a pass that runs longer than this')
        .env('SGR_PASS_TIMEOUT')
        .argParser((value) =>
          parsePositiveInt('--pass-timeout', value, DEFAULTS.passTimeout, {
            value: MAX_TIMER_SECONDS,
            why: 'about 24.8 days, the longest timer Node.js can hold',
          }),
        )
        .default(DEFAULTS.passTimeout),
    )
    .action(async (_options: unknown, command: Command) => onExit(await runRunCommand(optionsOf(command))));
}

/** `import`, which writes policies and reads none: it takes no --policies. */
function addImportCommand(program: Command, onExit: (code: number) => void): void {
  withAws(
    withAccounts(
      withLogging(
        program
          .command('import')
          .description(
            'write policies that declare the live ingress rules of chosen groups, for adopting existing groups',
          ),
      ),
    ),
  )
    .option('--out <dir>', 'the directory to write one policy per group into')
    .option('--group-id <id>', 'a group to import (repeatable)', collectGroupIds)
    .option(
      '--tag <key=value>',
      'import the groups carrying this tag (repeatable: every tag must match)',
      collectTags,
    )
    .option('--all', 'import every group of the region', false)
    .option('--snapshot <file>', 'read the groups from a snapshot instead of EC2')
    .option('--force', 'overwrite policy files that already exist in --out', false)
    .action(async (_options: unknown, command: Command) => onExit(await runImport(optionsOf(command))));
}

/** The CLI: every command and option, parsed once; `onExit` receives each command's exit code. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new ProgramCommand('sg-reconciler')
    .description(
      'Authorize the security-group ingress rules your YAML policies declare and EC2 lacks; never revoke.',
    )
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run sg-reconciler --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(redactUrlCredentials(text)) })
    .hook('preAction', envBooleans)
    .hook('preAction', checkNow)
    .hook('preAction', checkSdkEndpoints);

  withPolicies(program.command('validate').description('load and validate every policy; no AWS call')).action(
    async (_options: unknown, command: Command) => onExit(await runValidate(optionsOf(command))),
  );

  withQuota(
    withAws(
      withPolicies(
        program
          .command('plan')
          .description(
            'read live state and print what apply would authorize and what drift exists; no writes',
          ),
      ),
    ),
  )
    .addOption(
      new Option('--format <format>', 'report format').choices(PLAN_FORMATS).default(DEFAULTS.format),
    )
    .option('--detailed-exitcode', 'exit 2 when changes are pending', false)
    .option('--fail-on-unresolved', FAIL_ON_UNRESOLVED, false)
    .addOption(
      updateDescriptionsOption(
        'show description drift as changes, as apply --update-descriptions would make them (else: reported only)',
      ),
    )
    .option(
      '--snapshot <file>',
      'plan offline from a file `sg-reconciler snapshot` wrote, or the JSON output of `aws ec2 describe-security-groups` (one region: --region)',
    )
    .action(async (_options: unknown, command: Command) => onExit(await runPlan(optionsOf(command))));

  withAws(
    withPolicies(
      program
        .command('snapshot')
        .description(
          'write the live state every policy needs (groups, default VPCs, prefix-list sizes) to one JSON file, for offline plans',
        ),
    ),
  )
    .option('--out <file>', 'the snapshot file to write (atomically; nothing is written if any read fails)')
    .action(async (_options: unknown, command: Command) => onExit(await runSnapshot(optionsOf(command))));

  addImportCommand(program, onExit);

  withWrites(
    program.command('apply').description('one reconcile pass: authorize the missing rules, then exit'),
  )
    .option('--fail-on-unresolved', FAIL_ON_UNRESOLVED, false)
    .addOption(
      updateDescriptionsOption(
        'set the policy description on declared rules whose live description differs (UpdateSecurityGroupRuleDescriptionsIngress; access unchanged)',
      ),
    )
    .action(async (_options: unknown, command: Command) => onExit(await runApply(optionsOf(command))));

  addRunCommand(program, onExit);

  return program;
}

/** `--name value` or `--name=value` in argv, else the environment variable; undefined if neither. */
function rawSetting(argv: readonly string[], flag: string, env: string): string | undefined {
  for (let i = argv.length - 1; i >= 0; i--) {
    const arg = argv[i] ?? '';
    if (arg === flag) return argv[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return process.env[env];
}

/**
 * The `config.invalid` event for input commander rejected (unknown command or option, a value a
 * parser refused), on the stream the command's events go to, at the level and in the format asked
 * for where those could be read.
 */
function reportInvalidInput(program: Command, argv: readonly string[], error: CommanderError): void {
  const command = argv.find((arg) => !arg.startsWith('-'));
  const destination = command === 'apply' || command === 'run' ? 1 : 2;
  let level: LogLevel = DEFAULTS.logLevel;
  let format: LogFormat | undefined;
  try {
    level = parseLogLevel(rawSetting(argv, '--log-level', 'LOG_LEVEL') ?? DEFAULTS.logLevel);
  } catch {
    // the level is what was invalid: report at the default level
  }
  const raw = rawSetting(argv, '--log-format', 'SGR_LOG_FORMAT');
  // An invalid format (perhaps what is being reported) leaves the default for the stream.
  if ((LOG_FORMATS as readonly (string | undefined)[]).includes(raw)) format = raw as LogFormat;
  const logger = createLogger({ level, destination, format: format ?? 'auto' });
  const option = optionNamed(program, error.message);
  report(logger, 'config.invalid', {
    errorCode: error.code,
    ...(option !== undefined ? { option } : {}),
    error: redactUrlCredentials(error.message.replace(/^error: /, '')),
  });
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
      // --help and --version end here with exitCode 0; everything else commander rejects is
      // invalid input: its message is on stderr already, and it is an event too.
      if (error.exitCode === 0) return EXIT_OK;
      if (error.code !== 'commander.help') reportInvalidInput(program, argv, error);
      return EXIT_INVALID;
    }
    throw error;
  }
  if (code === undefined) {
    program.outputHelp();
    return EXIT_INVALID;
  }
  return code;
}
