// reconcile.progress: a pass that takes long (a slow or hung endpoint, thousands of units) says every
// so often how far it has got, so its log is not silent until reconcile.completed. The pass owns one
// tracker; its timer stops when the pass ends or is aborted, and never holds the process open.

/** How often a running pass reports its progress by default, in milliseconds. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;

/**
 * What the pass is doing: finding and reaching its accounts (STS GetCallerIdentity, Organizations,
 * AssumeRole), reading units, writing rules, or setting descriptions (--update-descriptions).
 */
export type ProgressPhase = 'accounts' | 'reading' | 'writing' | 'updating-descriptions';

/** The fields of one reconcile.progress event. */
export interface ProgressFields {
  readonly phase: ProgressPhase;
  /**
   * What of the phase is finished, of `total`: accounts reached (or failed) in `accounts`, units
   * otherwise. Both absent while the pass does not know its accounts yet (the inventory or the
   * own account is still being read), rather than a misleading "0 of 0".
   */
  readonly done?: number;
  readonly total?: number;
  /** Security groups read so far in this pass. */
  readonly groupsRead: number;
  /** Milliseconds since the pass started. */
  readonly elapsedMs: number;
}

/** The pass's side of the tracker. */
export interface PassProgress {
  /** The pass knows its accounts: `total` to reach (the phase is `accounts` until all are). */
  accounts(total: number): void;
  /** One account reached, or failed. */
  accountDone(): void;
  /** A new phase of `total` (account, region) units begins. */
  phase(name: Exclude<ProgressPhase, 'accounts'>, total: number): void;
  /** One unit of the current phase finished (reading: with the groups it read). */
  unitDone(groupsRead?: number): void;
  /** No more progress events (idempotent). */
  stop(): void;
}

export interface ProgressOptions {
  /** Milliseconds between events; 0 or less: none. */
  readonly intervalMs: number;
  readonly elapsedMs: () => number;
  readonly emit: (fields: ProgressFields) => void;
  /** The pass's signal: an abort stops the events too. */
  readonly signal?: AbortSignal | undefined;
}

/** A pass's counters; the reported phase is derived from them (progressFields). */
interface ProgressState {
  /** The unit phase the pass has entered, if any. */
  unitPhase: Exclude<ProgressPhase, 'accounts'> | undefined;
  done: number;
  total: number;
  /** Accounts to reach; undefined until the pass knows them. */
  accountsTotal: number | undefined;
  accountsDone: number;
  groupsRead: number;
}

/**
 * The event's fields: `accounts` (accounts reached of total, or neither while they are unknown)
 * until every account has been reached or has failed, even once reads have begun (units wait for
 * their account), then the unit phase with its units done of total.
 */
function progressFields(state: ProgressState, elapsedMs: number): ProgressFields {
  const { accountsTotal, accountsDone, groupsRead } = state;
  const reaching = accountsTotal === undefined || accountsDone < accountsTotal;
  if (state.unitPhase === undefined || (state.unitPhase === 'reading' && reaching)) {
    return {
      phase: 'accounts',
      ...(accountsTotal !== undefined ? { done: accountsDone, total: accountsTotal } : {}),
      groupsRead,
      elapsedMs,
    };
  }
  return { phase: state.unitPhase, done: state.done, total: state.total, groupsRead, elapsedMs };
}

/** Starts the progress timer of one pass (unref'd: it never keeps the process alive). */
export function trackProgress(options: ProgressOptions): PassProgress {
  const state: ProgressState = {
    unitPhase: undefined,
    done: 0,
    total: 0,
    accountsTotal: undefined,
    accountsDone: 0,
    groupsRead: 0,
  };
  const { signal } = options;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
    signal?.removeEventListener('abort', stop);
  };
  if (options.intervalMs > 0 && signal?.aborted !== true) {
    timer = setInterval(() => options.emit(progressFields(state, options.elapsedMs())), options.intervalMs);
    timer.unref();
    signal?.addEventListener('abort', stop, { once: true });
  }
  return {
    accounts: (total) => {
      state.accountsTotal = total;
    },
    accountDone: () => {
      state.accountsDone += 1;
    },
    phase: (name, total) => {
      state.unitPhase = name;
      state.done = 0;
      state.total = total;
    },
    unitDone: (groupsRead = 0) => {
      state.done += 1;
      state.groupsRead += groupsRead;
    },
    stop,
  };
}
