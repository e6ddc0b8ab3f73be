// Counts in words (src/text.ts): what every summary line uses instead of `rule(s)` or `1 policies`.
import { describe, expect, it } from 'vitest';
import { counted } from '../../src/text.js';

describe('counted', () => {
  it.each([
    [0, 'rule', undefined, '0 rules'],
    [1, 'rule', undefined, '1 rule'],
    [2, 'rule', undefined, '2 rules'],
    [1, 'policy', 'policies', '1 policy'],
    [5, 'policy', 'policies', '5 policies'],
    [1, 'ingress entry', 'ingress entries', '1 ingress entry'],
    [0, 'ingress entry', 'ingress entries', '0 ingress entries'],
  ])('%i %s', (count, singular, plural, expected) => {
    expect(counted(count, singular, plural)).toBe(expected);
  });
});
