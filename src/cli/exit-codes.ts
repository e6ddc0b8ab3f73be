// The one place that turns a command's outcome into a process exit code (SPEC.md "Commands").
import type { PassResult } from '../reconcile/types.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CHANGES_PENDING = 2;
export const EXIT_INVALID = 3;

export type CommandOutcome =
  | { readonly command: 'validate'; readonly valid: boolean }
  | { readonly command: 'plan'; readonly result: PassResult; readonly detailedExitcode: boolean }
  | { readonly command: 'apply'; readonly result: PassResult }
  | { readonly command: 'run'; readonly stoppedGracefully: boolean }
  /** Policies that do not validate, or an option value that cannot be used (bad cron, port, ...). */
  | { readonly command: 'invalid-input' }
  /** A failure before any pass could start (e.g. an unreadable snapshot file). */
  | { readonly command: 'error' };

export function exitCodeFor(outcome: CommandOutcome): number {
  switch (outcome.command) {
    case 'validate':
      return outcome.valid ? EXIT_OK : EXIT_INVALID;
    case 'plan': {
      const { result } = outcome;
      if (result.status === 'failed' || result.counts.readFailures > 0) return EXIT_FAILURE;
      if ((result.counts.accountsFailed ?? 0) > 0) return EXIT_FAILURE;
      return outcome.detailedExitcode && result.counts.missing > 0 ? EXIT_CHANGES_PENDING : EXIT_OK;
    }
    case 'apply': {
      const { result } = outcome;
      if (result.status === 'failed') return EXIT_FAILURE;
      const { failed, readFailures, accountsFailed } = result.counts;
      return failed > 0 || readFailures > 0 || (accountsFailed ?? 0) > 0 ? EXIT_FAILURE : EXIT_OK;
    }
    case 'run':
      return outcome.stoppedGracefully ? EXIT_OK : EXIT_FAILURE;
    case 'invalid-input':
      return EXIT_INVALID;
    case 'error':
      return EXIT_FAILURE;
  }
}
