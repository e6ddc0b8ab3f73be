// One function maps every outcome to an exit code (SPEC.md "Commands"), the daemon's included.
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/exit-codes.js';
import type { PassCounts, PassResult } from '../../src/reconcile/types.js';

const counts: PassCounts = {
  groups: 1,
  desired: 2,
  missing: 2,
  authorized: 2,
  failed: 0,
  drift: 0,
  descriptionDrift: 0,
  unresolved: 0,
  readFailures: 0,
};
const applied = (patch: Partial<PassCounts>): PassResult => ({
  status: 'completed',
  runId: 'r',
  mode: 'apply',
  durationMs: 1,
  plan: { groups: [], unresolved: [], readFailures: [] },
  counts: { ...counts, ...patch },
});

describe('exitCodeFor', () => {
  it('apply: 0 when everything converged, 1 for a failed, unknown or unread rule', () => {
    expect(exitCodeFor({ command: 'apply', result: applied({}) })).toBe(0);
    expect(exitCodeFor({ command: 'apply', result: applied({ failed: 1 }) })).toBe(1);
    expect(exitCodeFor({ command: 'apply', result: applied({ outcomeUnknown: 1 }) })).toBe(1);
    expect(exitCodeFor({ command: 'apply', result: applied({ readFailures: 1 }) })).toBe(1);
    expect(exitCodeFor({ command: 'apply', result: applied({ accountsFailed: 1 }) })).toBe(1);
    expect(exitCodeFor({ command: 'apply', result: applied({ descriptionsFailed: 1 }) })).toBe(1);
  });

  it('run: 0 stopped, 3 invalid input, 1 could not start, 128+n for a second signal', () => {
    expect(exitCodeFor({ command: 'run', end: 'stopped' })).toBe(0);
    expect(exitCodeFor({ command: 'run', end: 'invalid-input' })).toBe(3);
    expect(exitCodeFor({ command: 'run', end: 'start-failed' })).toBe(1);
    expect(exitCodeFor({ command: 'run', end: 'forced', signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeFor({ command: 'run', end: 'forced', signal: 'SIGINT' })).toBe(130);
  });

  it('plan: 2 only with --detailed-exitcode and something missing; validate: 3 when invalid', () => {
    const plan = { ...applied({}), mode: 'plan' as const };
    expect(exitCodeFor({ command: 'plan', result: plan, detailedExitcode: true })).toBe(2);
    expect(exitCodeFor({ command: 'plan', result: plan, detailedExitcode: false })).toBe(0);
    expect(exitCodeFor({ command: 'validate', valid: false })).toBe(3);
  });

  it('plan: description drift is a pending change only with --update-descriptions', () => {
    const reportedOnly = { ...applied({ missing: 0, descriptionDrift: 1 }), mode: 'plan' as const };
    const toUpdate = {
      ...applied({ missing: 0, descriptionDrift: 1, descriptionUpdates: 1 }),
      mode: 'plan' as const,
    };
    expect(exitCodeFor({ command: 'plan', result: reportedOnly, detailedExitcode: true })).toBe(0);
    expect(exitCodeFor({ command: 'plan', result: toUpdate, detailedExitcode: true })).toBe(2);
  });
});
