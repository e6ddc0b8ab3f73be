// Counts in words for people: `1 policy`, `2 policies`, `0 rules`, never `1 policies` or `rule(s)`.
// Pure; the CLI's summaries, the plan renderer, the daemon's error texts and the pretty log share it.

const ENGLISH = new Intl.PluralRules('en-US');

/**
 * `count` followed by the noun in the form English uses for that count (Intl.PluralRules):
 * `counted(1, 'policy', 'policies')` is `1 policy`, `counted(3, 'rule')` is `3 rules`.
 * `plural` defaults to `singular` + `s`.
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${ENGLISH.select(count) === 'one' ? singular : plural}`;
}
