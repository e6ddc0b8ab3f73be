// The one place that turns a command's outcome into a process exit code (SPEC.md "Commands"): the
// CLI's one-shot commands and the daemon's start-up failures and stops alike.
import { INVALID_ACCOUNT_SELECTORS, type PassResult } from './reconcile/types.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CHANGES_PENDING = 2;
export const EXIT_INVALID = 3;

export type CommandOutcome =
  | { readonly command: 'validate'; readonly valid: boolean }
  | {
      readonly command: 'plan';
      readonly result: PassResult;
      readonly detailedExitcode: boolean;
      /** --fail-on-unresolved: a target that matched no group fails the command (exit 1). */
      readonly failOnUnresolved?: boolean;
    }
  | { readonly command: 'apply'; readonly result: PassResult; readonly failOnUnresolved?: boolean }
  /**
   * The daemon: `stopped` after SIGTERM/SIGINT (0); `invalid-input` for invalid policies or options
   * at start-up (3); `start-failed` when it could not start or schedule (1); `forced` for a second
   * signal (128 + the signal number, the shell's convention).
   */
  | {
      readonly command: 'run';
      readonly end: 'stopped' | 'invalid-input' | 'start-failed' | 'forced';
      readonly signal?: NodeJS.Signals;
    }
  /** Policies that do not validate, or an option value that cannot be used (bad cron, port, ...). */
  | { readonly command: 'invalid-input' }
  /** A failure before any pass could start (e.g. an unreadable snapshot file). */
  | { readonly command: 'error' };

/** A second signal's exit code: 128 + the signal number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
const SIGNAL_NUMBERS: Readonly<Partial<Record<NodeJS.Signals, number>>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGTERM: 15,
};

function runExitCode(
  end: 'stopped' | 'invalid-input' | 'start-failed' | 'forced',
  signal?: NodeJS.Signals,
): number {
  switch (end) {
    case 'stopped':
      return EXIT_OK;
    case 'invalid-input':
      return EXIT_INVALID;
    case 'start-failed':
      return EXIT_FAILURE;
    case 'forced': {
      const n = signal === undefined ? undefined : SIGNAL_NUMBERS[signal];
      return n === undefined ? EXIT_FAILURE : 128 + n;
    }
  }
}

/** The exit code of a command's outcome (SPEC.md "Commands": 0, 1, 2 with --detailed-exitcode, 3). */
export function exitCodeFor(outcome: CommandOutcome): number {
  switch (outcome.command) {
    case 'validate':
      return outcome.valid ? EXIT_OK : EXIT_INVALID;
    case 'plan': {
      const { result } = outcome;
      if (result.status === 'failed' && result.errorCode === INVALID_ACCOUNT_SELECTORS) return EXIT_INVALID;
      if (result.status === 'failed' || result.counts.readFailures > 0) return EXIT_FAILURE;
      if ((result.counts.accountsFailed ?? 0) > 0) return EXIT_FAILURE;
      // A policy without a region was not planned: the plan cannot vouch for it.
      if ((result.counts.policiesSkipped ?? 0) > 0) return EXIT_FAILURE;
      if (outcome.failOnUnresolved === true && result.counts.unresolved > 0) return EXIT_FAILURE;
      // A quota figure that could not be read (a snapshot without the list's size, a failed
      // DescribeManagedPrefixLists) is a plan that cannot vouch for itself: never green.
      if ((result.plan.prefixListFailures?.length ?? 0) > 0) return EXIT_FAILURE;
      // --update-descriptions makes description drift a pending change; without it, reported only.
      const pending = result.counts.missing + (result.counts.descriptionUpdates ?? 0);
      return outcome.detailedExitcode && pending > 0 ? EXIT_CHANGES_PENDING : EXIT_OK;
    }
    case 'apply': {
      const { result } = outcome;
      if (result.status === 'failed' && result.errorCode === INVALID_ACCOUNT_SELECTORS) return EXIT_INVALID;
      if (result.status === 'failed') return EXIT_FAILURE;
      if (outcome.failOnUnresolved === true && result.counts.unresolved > 0) return EXIT_FAILURE;
      // A rule whose outcome is unknown may be missing: the run did not prove convergence.
      // A rule a guardrail blocked was wanted and not authorized: the pass did not do all it was asked.
      const { failed, readFailures, accountsFailed, outcomeUnknown, blocked, descriptionsFailed } =
        result.counts;
      const problems =
        failed +
        readFailures +
        (accountsFailed ?? 0) +
        (outcomeUnknown ?? 0) +
        (blocked ?? 0) +
        (descriptionsFailed ?? 0) +
        (result.counts.policiesSkipped ?? 0);
      return problems > 0 ? EXIT_FAILURE : EXIT_OK;
    }
    case 'run':
      return runExitCode(outcome.end, outcome.signal);
    case 'invalid-input':
      return EXIT_INVALID;
    case 'error':
      return EXIT_FAILURE;
  }
}
