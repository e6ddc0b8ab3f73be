import { describe, expect, it } from 'vitest';
import { createTokenBucket } from '../../src/aws/pacing.js';

/** A bucket on a virtual clock: sleeping advances time, so the test measures the schedule exactly. */
function virtualBucket(ratePerSecond: number, burst: number) {
  let clock = 0;
  const sleeps: number[] = [];
  const bucket = createTokenBucket({
    ratePerSecond,
    burst,
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  });
  return { bucket, sleeps, time: () => clock };
}

describe('createTokenBucket', () => {
  it('lets a burst through at once, then paces to the rate', async () => {
    const { bucket, sleeps, time } = virtualBucket(5, 10);

    for (let i = 0; i < 10; i++) await bucket.take();
    expect(sleeps).toEqual([]);
    for (let i = 0; i < 5; i++) await bucket.take();

    expect(sleeps).toHaveLength(5);
    expect(time()).toBeCloseTo(1000, 6);
  });

  it('spreads 100 writes over (100 - burst) / rate seconds', async () => {
    const { bucket, time } = virtualBucket(3, 6);

    for (let i = 0; i < 100; i++) await bucket.take();

    expect(time() / 1000).toBeCloseTo((100 - 6) / 3, 6);
  });

  it('concurrent takers reserve in turn and never overdraw the rate', async () => {
    const clock = 0;
    const wakeAt: number[] = [];
    const bucket = createTokenBucket({
      ratePerSecond: 2,
      burst: 1,
      now: () => clock,
      sleep: (ms) => {
        wakeAt.push(clock + ms);
        return Promise.resolve();
      },
    });

    await Promise.all([bucket.take(), bucket.take(), bucket.take(), bucket.take()]);

    expect(wakeAt).toEqual([500, 1000, 1500]);
  });

  it('refills while idle, up to the burst only', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const bucket = createTokenBucket({
      ratePerSecond: 1,
      burst: 2,
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    await bucket.take();
    await bucket.take();
    clock += 60_000; // a long quiet spell refills 2 tokens, not 60

    await bucket.take();
    await bucket.take();
    expect(sleeps).toEqual([]);
    await bucket.take();
    expect(sleeps).toEqual([1000]);
  });

  it('a wait ends when the signal aborts, with its reason, and gives the reservation back', async () => {
    const bucket = createTokenBucket({ ratePerSecond: 0.001, burst: 1 });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('pass timed out'));

    await expect(waiting).rejects.toThrow('pass timed out');
  });

  it('refuses a rate or burst that would never let a write through', () => {
    expect(() => createTokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => createTokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
