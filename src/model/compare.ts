// Ordering shared by every sorted output (plans, events, files): plain code-unit order, the same on
// every machine and locale, so the same state always gives the same bytes.

/** Code-unit order of two strings: negative, zero or positive, as Array.prototype.sort expects. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
