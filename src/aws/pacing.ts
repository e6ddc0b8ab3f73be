// Client-side pacing of writes per account and region. EC2 meters mutating calls such as
// AuthorizeSecurityGroupIngress with a token bucket per account and region (documented: 50 tokens,
// refilled at 5 per second) shared by every tool in the account; a large apply that drains it makes
// everyone else's writes fail with RequestLimitExceeded. We spend from our own smaller bucket first.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The default of --write-rate: below EC2's documented refill for mutating calls per account and
 * region (5/s, 50 held), so a long apply leaves room for every other tool in the account.
 */
export const DEFAULT_WRITES_PER_SECOND = 3;

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Most tokens held at once (the burst a quiet bucket allows). */
  readonly burst: number;
  /** Milliseconds clock (tests). */
  readonly now?: () => number;
  /** Waits `ms` unless the signal aborts first (tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface TokenBucket {
  /** Resolves when a token was taken; rejects with the signal's reason if it aborts while waiting. */
  take(signal?: AbortSignal): Promise<void>;
}

/** Waits `ms`; an abort of `signal` ends the wait at once with the signal's reason (not timers' AbortError). */
async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? {} : { signal });
  } catch (error) {
    throw signal?.aborted === true ? signal.reason : error;
  }
}

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) {
    throw new RangeError('a token bucket needs a positive rate and a burst of at least 1');
  }
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableSleep;
  let tokens = options.burst;
  let updated = now();
  // Waiters are served in order: each reserves its token (tokens may go negative) and sleeps until
  // the bucket has refilled to cover it, so concurrent callers never overdraw the rate.
  return {
    async take(signal?: AbortSignal): Promise<void> {
      const t = now();
      tokens = Math.min(options.burst, tokens + ((t - updated) / 1000) * options.ratePerSecond);
      updated = t;
      tokens -= 1;
      if (tokens >= 0) return;
      const waitMs = (-tokens / options.ratePerSecond) * 1000;
      try {
        await sleep(waitMs, signal);
      } catch (error) {
        tokens += 1; // give the reservation back
        throw error;
      }
    },
  };
}
