// `sg-reconciler run`: the daemon wired to the real policy loader, reconcile engine, EC2 ports and
// node-cron. The life cycle itself is in daemon.ts, which tests drive with fakes.
import type { AccountGateway, Ec2PortFactory } from '../aws/port.js';
import type { Policy, PolicyError } from '../model/policy.js';
import type { Logger } from '../logging.js';
import { DEFAULT_SETTLE_MS, loadPolicySet } from '../policy/index.js';
import { reconcilePass, type InventorySource, type PassRequest } from '../reconcile/pass.js';
import { createDaemon, type DaemonProcess, type RunPass } from './daemon.js';
import type { HttpLimits } from './http.js';
import { createCronScheduler } from './schedule.js';

export {
  createDaemon,
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  FORCED_EXIT_CODES,
  PassAbortedError,
  reportStartFailure,
  type Daemon,
  type DaemonDeps,
  type DaemonOptions,
  type DaemonProcess,
  type PassContext,
  type RunPass,
} from './daemon.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http.js';
export { createDaemonMetrics, type DaemonMetrics } from './metrics.js';
export { readinessOf, type PassOutcome, type Readiness } from './outcome.js';
export { validateSchedule, type Scheduler } from './schedule.js';

/** What `run` needs of the resolved options (the CLI's RunConfig has these fields and more). */
export interface DaemonConfig {
  readonly policies: string | readonly string[];
  readonly region: string | undefined;
  readonly maxRulesPerGroup: number;
  readonly dryRun: boolean;
  /** `--update-descriptions`: every pass sets the policy's description where the live one differs. */
  readonly updateDescriptions?: boolean;
  readonly schedule: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly timezone: string;
  readonly passTimeoutSeconds: number;
  /** The wall clock guardrail exceptions are judged by. */
  readonly clock: () => Date;
}

export interface RunDaemonDeps {
  readonly logger: Logger;
  readonly ports: Ec2PortFactory;
  /** The own account and AssumeRole per account (see reconcilePass). */
  readonly accounts?: AccountGateway;
  /** `--accounts organizations`: the inventory, discovered (and cached) per pass. */
  readonly inventory?: InventorySource;
  /** Inventory file, shard and unit concurrency of every pass. */
  readonly unitOptions?: Pick<PassRequest, 'inventory' | 'shard' | 'unitConcurrency'>;
  /**
   * Account selectors that cannot be used with the inventory, checked with every policy load: at
   * start-up they are invalid policies (exit 3), later the pass is skipped as `invalid-policies`.
   */
  readonly selectorErrors?: (policies: readonly Policy[]) => PolicyError[];
  /** Where SIGTERM/SIGINT come from and what a forced exit calls; `process` unless a test says otherwise. */
  readonly process?: DaemonProcess;
  /** Overrides of the daemon's grace periods (milliseconds), for tests. */
  readonly shutdownGraceMs?: number;
  readonly abortGraceMs?: number;
  /** Overrides of the HTTP connection limits (tests shorten the idle timeout). */
  readonly httpLimits?: Partial<HttpLimits>;
}

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit code (0 stopped, 1 could not start, 3 invalid input). */
export function runDaemon(config: DaemonConfig, deps: RunDaemonDeps): Promise<number> {
  const { logger, ports } = deps;
  const runPass: RunPass = (policies, policyFiles, context) =>
    reconcilePass(
      {
        ports,
        ...(deps.accounts !== undefined ? { accounts: deps.accounts } : {}),
        ...(deps.inventory !== undefined ? { inventory: deps.inventory } : {}),
        logger,
        newRunId: () => context.runId,
        observer: context.observer,
        reportMemory: context.reportMemory,
        clock: config.clock,
      },
      {
        mode: context.mode,
        policies,
        ...(context.guardrails !== undefined ? { guardrails: context.guardrails } : {}),
        policyFiles,
        defaultRegion: config.region,
        maxRulesPerGroup: config.maxRulesPerGroup,
        signal: context.signal,
        policySetDigest: context.policySetDigest,
        policyVersion: context.policyVersion,
        classifyAbort: context.classifyAbort,
        unsettled: context.unsettled,
        ...(config.updateDescriptions === true ? { updateDescriptions: true } : {}),
        ...deps.unitOptions,
      },
    );
  const daemon = createDaemon(
    {
      policiesDir: config.policies,
      schedule: config.schedule,
      timezone: config.timezone,
      listen: config.listen,
      mode: config.dryRun ? 'dry-run' : 'apply',
      passTimeoutSeconds: config.passTimeoutSeconds,
      ...(config.updateDescriptions === true ? { updateDescriptions: true } : {}),
      ...(deps.shutdownGraceMs !== undefined ? { shutdownGraceMs: deps.shutdownGraceMs } : {}),
      ...(deps.abortGraceMs !== undefined ? { abortGraceMs: deps.abortGraceMs } : {}),
      ...(deps.httpLimits !== undefined ? { httpLimits: deps.httpLimits } : {}),
    },
    {
      logger,
      // The daemon fires at any moment relative to writers: a file written in the last 2 s may be
      // half-written, so the set waits until it settles (SPEC "Safety rules of the pass"). Account
      // selectors the inventory cannot serve make the set invalid, like any policy error.
      loadPolicySet: async (dir) => {
        const set = await loadPolicySet(dir, { settleMs: DEFAULT_SETTLE_MS, exceptionsAt: config.clock() });
        if (set.kind !== 'read' || !set.result.ok) return set;
        const errors = deps.selectorErrors?.(set.result.policies) ?? [];
        return errors.length > 0 ? { ...set, result: { ok: false, errors, files: set.result.files } } : set;
      },
      runPass,
      scheduler: createCronScheduler(logger),
      ...(deps.process !== undefined ? { process: deps.process } : {}),
    },
  );
  // Close the SDK's connection pools once stopped, or idle keep-alive sockets hold the process open
  // for seconds after daemon.stopped. createEc2PortFactory's factory has destroy(); fakes may not.
  return daemon.run().finally(() => {
    const closable = ports as Ec2PortFactory & { readonly destroy?: unknown };
    if (typeof closable.destroy === 'function') (closable.destroy as () => void).call(ports);
  });
}
