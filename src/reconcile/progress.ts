// reconcile.progress: a pass that takes long (a slow or hung endpoint, thousands of units) says every
// so often how far it has got, so its log is not silent until reconcile.completed. The pass owns one
// tracker; its timer stops when the pass ends or is aborted, and never holds the process open.

/** How often a running pass reports its progress by default, in milliseconds. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;

/** What the pass is doing: reading units, writing rules, or setting descriptions (--update-descriptions). */
export type ProgressPhase = 'reading' | 'writing' | 'updating-descriptions';

/** The fields of one reconcile.progress event. */
export interface ProgressFields {
  readonly phase: ProgressPhase;
  /** Units of this phase finished, of `total`. */
  readonly done: number;
  readonly total: number;
  /** Security groups read so far in this pass. */
  readonly groupsRead: number;
  /** Milliseconds since the pass started. */
  readonly elapsedMs: number;
}

/** The pass's side of the tracker. */
export interface PassProgress {
  /** A new phase of `total` (account, region) units begins. */
  phase(name: ProgressPhase, total: number): void;
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

/** Starts the progress timer of one pass (unref'd: it never keeps the process alive). */
export function trackProgress(options: ProgressOptions): PassProgress {
  const state = { phase: 'reading' as ProgressPhase, done: 0, total: 0, groupsRead: 0 };
  const { signal } = options;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
    signal?.removeEventListener('abort', stop);
  };
  if (options.intervalMs > 0 && signal?.aborted !== true) {
    timer = setInterval(() => options.emit({ ...state, elapsedMs: options.elapsedMs() }), options.intervalMs);
    timer.unref();
    signal?.addEventListener('abort', stop, { once: true });
  }
  return {
    phase: (name, total) => {
      state.phase = name;
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
