import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterPatternMatcher, literalFilterValue } from '../../src/aws/port.js';

describe('EC2 filter values', () => {
  it('escapes *, ? and \\ with a backslash and leaves everything else alone', () => {
    expect(literalFilterValue('web*')).toBe('web\\*');
    expect(literalFilterValue('a?b')).toBe('a\\?b');
    expect(literalFilterValue('C:\\temp')).toBe('C:\\\\temp');
    expect(literalFilterValue('sg-0123456789abcdef0')).toBe('sg-0123456789abcdef0');
  });

  it('reads *, ? and \\ the way EC2 does', () => {
    expect(filterPatternMatcher('web*')('webserver')).toBe(true);
    expect(filterPatternMatcher('web?')('web1')).toBe(true);
    expect(filterPatternMatcher('web?')('web12')).toBe(false);
    expect(filterPatternMatcher('web\\*')('webserver')).toBe(false);
    expect(filterPatternMatcher('web\\*')('web*')).toBe(true);
    expect(filterPatternMatcher('Web')('web')).toBe(false);
  });

  it('an escaped value matches exactly itself, whatever characters it holds', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '\\', '.', '[', ' ') });
    fc.assert(
      fc.property(text, text, (value, other) => {
        const matches = filterPatternMatcher(literalFilterValue(value));
        expect(matches(value)).toBe(true);
        expect(matches(other)).toBe(other === value);
      }),
    );
  });
});
