import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { parseShard } from '../../src/cli/options.js';

describe('--shard', () => {
  it('K/N is taken as written', () => {
    expect(parseShard('1/4', {}, 'host')).toEqual({ index: 1, count: 4 });
  });

  it('N alone takes K from JOB_COMPLETION_INDEX (an Indexed Job), before the host name', () => {
    expect(parseShard('4', { JOB_COMPLETION_INDEX: '3' }, 'sg-reconciler-1')).toEqual({ index: 3, count: 4 });
  });

  it("N alone takes K from the host name's trailing ordinal (a StatefulSet pod)", () => {
    expect(parseShard('3', {}, 'sg-reconciler-2')).toEqual({ index: 2, count: 3 });
  });

  it('N alone with neither is an error that says what to write', () => {
    expect(() => parseShard('3', {}, 'laptop')).toThrow(InvalidArgumentError);
    expect(() => parseShard('3', {}, 'laptop')).toThrow(
      /JOB_COMPLETION_INDEX is not set.*write --shard K\/3/,
    );
  });

  it('K must be below N, N at least 1, and the form K/N or N', () => {
    expect(() => parseShard('4/4', {}, 'h')).toThrow(/must be below N/);
    expect(() => parseShard('5', {}, 'sg-reconciler-7')).toThrow(/must be below N/);
    expect(() => parseShard('0/0', {}, 'h')).toThrow(/at least 1/);
    expect(() => parseShard('one/two', {}, 'h')).toThrow(/is not K\/N or N/);
  });
});
