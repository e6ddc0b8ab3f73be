// Renders a plan pass for people (text table, Markdown for pull-request comments) and machines (JSON).
import type { Denial } from '../model/guardrail.js';
import type { PolicyError } from '../model/policy.js';
import {
  describePorts,
  describeProtocol,
  describeSource,
  ruleKey,
  type LiveRule,
  type Rule,
} from '../model/rule.js';
import { liveRuleFields, ruleFields } from '../reconcile/reporter.js';
import type {
  BlockedRule,
  DescriptionDrift,
  DesiredRule,
  GroupPlan,
  PassResult,
  Plan,
  PrefixListReadFailure,
  UnresolvedTarget,
  Violation,
} from '../reconcile/types.js';
import { counted } from '../text.js';

export const PLAN_FORMATS = ['text', 'json', 'markdown'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** The JSON report's version; bump it when a field changes meaning or disappears. */
export const PLAN_FORMAT_VERSION = 1;

/**
 * A description in the JSON report: the text, or null for none. EC2 returns "no description" as
 * either an absent field or an empty string; the report says it one way, as the text format's `(none)`.
 */
function descriptionJson(text: string | undefined): string | null {
  return text === undefined || text === '' ? null : text;
}

function desiredJson(d: DesiredRule): object {
  return { ...ruleFields(d), description: descriptionJson(d.rule.description), tags: d.tags };
}

function liveJson(g: GroupPlan, r: LiveRule): object {
  return {
    ...liveRuleFields(g.account, g.region, g.group.groupId, r),
    description: descriptionJson(r.description),
  };
}

/** Without --update-descriptions, description drift is reported only: no plan format shows it as a change. */
function reportedOnly(result: Extract<PassResult, { status: 'completed' }>): boolean {
  return result.plan.updateDescriptions !== true;
}

function denialJson(denial: Denial): object {
  return {
    guardrail: denial.guardrail,
    guardrailEntry: denial.entry,
    ...(denial.expired !== undefined ? { exceptionExpired: denial.expired.expires } : {}),
  };
}

function violationJson(g: GroupPlan, v: Violation): object {
  return { ...denialJson(v.denial), ...liveJson(g, v.rule) };
}

function blockedJson(b: BlockedRule): object {
  return { ...denialJson(b.denial), ...desiredJson(b.desired) };
}

function groupJson(g: GroupPlan, descriptionsReportedOnly: boolean): object {
  return {
    account: g.account,
    region: g.region,
    groupId: g.group.groupId,
    groupName: g.group.groupName,
    vpcId: g.group.vpcId ?? null,
    policies: g.policies,
    desired: g.desiredCount,
    missing: g.missing.map(desiredJson),
    blocked: g.blocked.map(blockedJson),
    violations: g.violations.map((v) => violationJson(g, v)),
    drift: g.drift.map((r) => liveJson(g, r)),
    descriptionDrift: g.descriptionDrift.map((d) => ({
      ...desiredJson(d.desired),
      ...(d.live.ruleId !== undefined ? { ruleId: d.live.ruleId } : {}),
      live: descriptionJson(d.live.description),
      desired: descriptionJson(d.desired.rule.description),
      reportedOnly: descriptionsReportedOnly,
    })),
    quota: g.quota,
  };
}

export function planJson(result: PassResult): object {
  if (result.status === 'failed') {
    return {
      formatVersion: PLAN_FORMAT_VERSION,
      valid: true,
      runId: result.runId,
      status: 'failed',
      errorCode: result.errorCode,
      error: result.error,
    };
  }
  const { plan, counts } = result;
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    valid: true,
    runId: result.runId,
    status: 'completed',
    summary: {
      changes: counts.missing + (counts.descriptionUpdates ?? 0) > 0,
      groups: counts.groups,
      desired: counts.desired,
      missing: counts.missing,
      drift: counts.drift,
      descriptionDrift: counts.descriptionDrift,
      // Description drifts this plan would change (--update-descriptions); 0 when reported only.
      descriptionUpdates: counts.descriptionUpdates ?? 0,
      quotaExceeded: plan.groups.filter((g) => g.quota.exceeded).length,
      unresolved: counts.unresolved,
      readFailures: counts.readFailures,
      units: counts.units ?? 0,
      accountsFailed: counts.accountsFailed ?? 0,
      policiesSkipped: counts.policiesSkipped ?? 0,
      violations: countOf(plan, 'violations'),
      blocked: countOf(plan, 'blocked'),
      prefixListFailures: plan.prefixListFailures?.length ?? 0,
    },
    guardrails: {
      checked: plan.guardrails ?? [],
      violations: plan.groups.flatMap((g) => g.violations.map((v) => violationJson(g, v))),
      blocked: plan.groups.flatMap((g) => g.blocked.map(blockedJson)),
    },
    // Sorted by account, then region, then group ID.
    groups: plan.groups.map((g) => groupJson(g, reportedOnly(result))),
    unresolved: plan.unresolved,
    readFailures: plan.readFailures,
    accountFailures: plan.accountFailures ?? [],
    prefixListFailures: plan.prefixListFailures ?? [],
    skippedPolicies: plan.skippedPolicies ?? [],
  };
}

function countOf(plan: Plan, what: 'violations' | 'blocked'): number {
  return plan.groups.reduce((n, g) => n + g[what].length, 0);
}

function sourceText(rule: Rule): string {
  return `${rule.source.kind} ${describeSource(rule.source)}`;
}

/** A drift row's note: what drift means here, and the rule's ID when the read returned one. */
function driftNote(r: LiveRule): string {
  return `drift${r.ruleId !== undefined ? ` (${r.ruleId})` : ''}: no policy declares it; left alone`;
}

/** An unresolved target, the same words in text and Markdown (`reason` when it is not "no such group"). */
function unresolvedText(u: UnresolvedTarget): string {
  return `${unitOf(u)}policy ${u.policy} target ${u.target} matched no group${u.reason !== undefined ? ` (${u.reason})` : ''}`;
}

/** `account / region ` of a unit (the account is missing only where a unit predates accounts). */
function unitOf(f: { readonly account?: string | undefined; readonly region: string }): string {
  return `${f.account !== undefined ? `${f.account} / ` : ''}${f.region} `;
}

/**
 * Appends a block of lines with one blank line before it (none at the start): sections never
 * stack blank lines, whichever of them a group happens to have.
 */
function pushBlock(out: string[], ...lines: readonly string[]): void {
  if (out.length > 0 && out[out.length - 1] !== '') out.push('');
  out.push(...lines);
}

function quoted(text: string | undefined): string {
  return text === undefined || text === '' ? '(none)' : JSON.stringify(text);
}

function quotaText(g: GroupPlan): string {
  const { ipv4, ipv6, limit } = g.quota;
  const verdict = g.quota.exceeded ? '  EXCEEDS QUOTA: nothing will be written to this group' : '';
  return `quota: IPv4 ${ipv4.current} -> ${ipv4.projected} / ${limit}, IPv6 ${ipv6.current} -> ${ipv6.projected} / ${limit}${verdict}${unknownListsText(g)}`;
}

/** A quota figure that rests on a guess says so: a list that could not be sized counted as 1. */
function unknownListsText(g: GroupPlan): string {
  const lists = g.quota.unknownPrefixLists ?? [];
  if (lists.length === 0) return '';
  return ` (prefix list ${lists.join(', ')} could not be sized: not found or not read; counted as 1 rule in each family, so the projection may be low)`;
}

function prefixListFailureText(f: PrefixListReadFailure): string {
  return `${unitOf(f)}${f.errorCode}: ${f.error} (prefix lists: ${f.prefixListIds.join(', ')})`;
}

function table(rows: readonly (readonly string[])[], indent: string): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** `, 1 group OVER QUOTA: its 2 rules will not be written`: the missing rules apply refuses to send. */
function overQuotaText(plan: Plan): string {
  const over = plan.groups.filter((g) => g.quota.exceeded && g.missing.length > 0);
  if (over.length === 0) return '';
  const rules = over.reduce((n, g) => n + g.missing.length, 0);
  return `, ${counted(over.length, 'group')} OVER QUOTA: ${over.length === 1 ? 'its' : 'their'} ${counted(rules, 'rule')} will not be written`;
}

function summaryLine(result: Extract<PassResult, { status: 'completed' }>): string {
  const c = result.counts;
  return (
    `${counted(c.missing, 'rule')} to authorize in ${counted(result.plan.groups.filter((g) => g.missing.length > 0).length, 'group')}` +
    ` (${counted(c.groups, 'group')}, ${counted(c.desired, 'desired rule')})` +
    (reportedOnly(result)
      ? `; ${c.drift} drift, ${c.descriptionDrift} description drift (reported only)`
      : `; ${counted(c.descriptionUpdates ?? 0, 'description')} to update; ${c.drift} drift`) +
    overQuotaText(result.plan) +
    (c.unresolved > 0 ? `, ${counted(c.unresolved, 'unresolved target')}` : '') +
    ((c.policiesSkipped ?? 0) > 0
      ? `, ${counted(c.policiesSkipped ?? 0, 'SKIPPED policy', 'SKIPPED policies')} without a region`
      : '') +
    (countOf(result.plan, 'violations') > 0
      ? `, ${counted(countOf(result.plan, 'violations'), 'GUARDRAIL VIOLATION')}`
      : '') +
    (countOf(result.plan, 'blocked') > 0
      ? `, ${countOf(result.plan, 'blocked')} BLOCKED by guardrails`
      : '') +
    (c.readFailures > 0 ? `, ${counted(c.readFailures, 'failed read')}` : '') +
    ((c.accountsFailed ?? 0) > 0 ? `, ${counted(c.accountsFailed ?? 0, 'unreachable account')}` : '') +
    ((result.plan.prefixListFailures?.length ?? 0) > 0
      ? `, ${counted(result.plan.prefixListFailures?.length ?? 0, 'failed prefix-list read')}`
      : '')
  );
}

/** `account / region`, the heading of a unit's section. */
function unitHeading(g: GroupPlan): string {
  return `${g.account} / ${g.region}`;
}

/** Every violation and blocked rule of the plan, each with its group. */
function guardrailFindings(plan: Plan): {
  violations: { g: GroupPlan; v: Violation }[];
  blocked: { g: GroupPlan; b: BlockedRule }[];
} {
  return {
    violations: plan.groups.flatMap((g) => g.violations.map((v) => ({ g, v }))),
    blocked: plan.groups.flatMap((g) => g.blocked.map((b) => ({ g, b }))),
  };
}

function denialText(denial: Denial): string {
  const expired = denial.expired !== undefined ? `; exception expired ${denial.expired.expires}` : '';
  return `guardrail ${denial.guardrail} deny[${denial.entry}]${expired}`;
}

/** The guardrail section of the text plan: first, boxed in capitals, so a reviewer cannot miss it. */
function guardrailText(plan: Plan, out: string[]): void {
  const { violations, blocked } = guardrailFindings(plan);
  if (violations.length > 0) {
    pushBlock(
      out,
      `!!! GUARDRAIL VIOLATIONS: ${counted(violations.length, 'live rule')} that a guardrail denies (left in place: sg-reconciler never revokes; remove them by hand)`,
      table(
        violations.map(({ g, v }) => [
          unitHeading(g),
          g.group.groupId,
          describeProtocol(v.rule.protocol),
          describePorts(v.rule),
          sourceText(v.rule),
          v.rule.ruleId ?? '',
          denialText(v.denial),
        ]),
        '  ',
      ),
    );
  }
  if (blocked.length > 0) {
    pushBlock(
      out,
      `!!! BLOCKED BY GUARDRAILS: ${counted(blocked.length, 'desired rule')} that will not be sent to EC2`,
      table(
        blocked.map(({ g, b }) => [
          unitHeading(g),
          g.group.groupId,
          describeProtocol(b.desired.rule.protocol),
          describePorts(b.desired.rule),
          sourceText(b.desired.rule),
          `[${b.desired.policies.join(', ')}]`,
          denialText(b.denial),
        ]),
        '  ',
      ),
    );
  }
}

/** What the last column of a reported-only description drift says (text). */
export const REPORTED_ONLY_TEXT = 'reported only: not changed without --update-descriptions';

function renderText(result: PassResult): string {
  if (result.status === 'failed') return `Plan could not run: ${result.errorCode}: ${result.error}\n`;
  const out: string[] = [`Plan: ${summaryLine(result)}`];
  guardrailText(result.plan, out);
  const descriptionsReportedOnly = reportedOnly(result);
  let unit: string | undefined;
  for (const g of result.plan.groups) {
    if (unitHeading(g) !== unit) {
      unit = unitHeading(g);
      pushBlock(out, `account ${unit}`);
    }
    pushBlock(
      out,
      // The unit heading above names the account and region; the group line does not repeat them.
      `${g.group.groupId} (${g.group.groupName}${g.group.vpcId ? `, ${g.group.vpcId}` : ''})  policies: ${g.policies.join(', ')}`,
    );
    const rows: string[][] = [];
    for (const d of g.missing) {
      rows.push([
        '+',
        describeProtocol(d.rule.protocol),
        describePorts(d.rule),
        sourceText(d.rule),
        quoted(d.rule.description),
        `[${d.policies.join(', ')}]`,
      ]);
    }
    for (const d of g.descriptionDrift) {
      const policies = `[${d.desired.policies.join(', ')}]`;
      rows.push([
        descriptionsReportedOnly ? '!' : '~',
        describeProtocol(d.desired.rule.protocol),
        describePorts(d.desired.rule),
        sourceText(d.desired.rule),
        `description ${quoted(d.live.description)} -> ${quoted(d.desired.rule.description)}`,
        descriptionsReportedOnly ? `${policies} ${REPORTED_ONLY_TEXT}` : policies,
      ]);
    }
    for (const r of g.drift) {
      const violation = g.violations.find((v) => ruleKey(v.rule) === ruleKey(r));
      rows.push([
        '!',
        describeProtocol(r.protocol),
        describePorts(r),
        sourceText(r),
        quoted(r.description),
        driftNote(r) +
          (violation !== undefined ? `; GUARDRAIL VIOLATION (${denialText(violation.denial)})` : ''),
      ]);
    }
    if (rows.length === 0) out.push('  up to date');
    else out.push(table(rows, '  '));
    out.push(`  ${quotaText(g)}`);
  }
  for (const s of result.plan.skippedPolicies ?? []) {
    pushBlock(out, `skipped: policy ${s.policy} at ${s.file}:${s.line}:${s.column} (${s.path}): ${s.error}`);
  }
  for (const u of result.plan.unresolved) pushBlock(out, `unresolved: ${unresolvedText(u)}`);
  for (const f of result.plan.readFailures) {
    pushBlock(
      out,
      `read failed: ${unitOf(f)}${f.errorCode}: ${f.error} (skipped policies: ${f.policies.join(', ')})`,
    );
  }
  for (const f of result.plan.accountFailures ?? []) {
    pushBlock(
      out,
      `account failed: ${f.account} ${f.errorCode}: ${f.error} (skipped regions: ${f.regions.join(', ')})`,
    );
  }
  for (const f of result.plan.prefixListFailures ?? [])
    pushBlock(out, `read failed: ${prefixListFailureText(f)}`);
  return `${out.join('\n')}\n`;
}

function md(text: string): string {
  return text.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
}

/** A description in a Markdown cell: escaped text, or `(none)` in italics as the text format says it. */
function mdDescription(text: string | undefined): string {
  return text === undefined || text === '' ? '_(none)_' : md(text);
}

/** A rule's source in a Markdown cell, as code (cross-account groups as `account/sg-...`). */
function mdSource(rule: Rule): string {
  return `\`${describeSource(rule.source)}\``;
}

/**
 * A Markdown table of live rules with a `rule ID` column only when some rule has an ID:
 * DescribeSecurityGroups, which plans read, returns none, and an always-empty column says nothing.
 */
function liveRuleTable(
  header: readonly string[],
  rows: readonly { cells: readonly string[]; rule: LiveRule }[],
): string[] {
  const ids = rows.some((r) => r.rule.ruleId !== undefined);
  const columns = ids ? [...header, 'rule ID'] : header;
  return [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---|').join('')}`,
    ...rows.map(({ cells, rule }) => `| ${(ids ? [...cells, rule.ruleId ?? '—'] : cells).join(' | ')} |`),
  ];
}

/** The guardrail section of the Markdown plan: right under the summary, before any group. */
function guardrailMarkdown(plan: Plan, out: string[]): void {
  const { violations, blocked } = guardrailFindings(plan);
  if (violations.length > 0) {
    pushBlock(
      out,
      `#### :no_entry: Guardrail violations: ${counted(violations.length, 'live rule')} a guardrail denies`,
    );
    pushBlock(
      out,
      'These rules exist now. sg-reconciler never revokes them: remove them by hand, or narrow them.',
    );
    pushBlock(
      out,
      ...liveRuleTable(
        ['account / region', 'group', 'protocol', 'ports', 'source', 'guardrail'],
        violations.map(({ g, v }) => ({
          rule: v.rule,
          cells: [
            unitHeading(g),
            `\`${g.group.groupId}\``,
            describeProtocol(v.rule.protocol),
            describePorts(v.rule),
            mdSource(v.rule),
            md(denialText(v.denial)),
          ],
        })),
      ),
    );
  }
  if (blocked.length > 0) {
    pushBlock(
      out,
      `#### :no_entry: Blocked by guardrails: ${counted(blocked.length, 'desired rule')} will not be sent`,
    );
    pushBlock(
      out,
      '| account / region | group | protocol | ports | source | policies | guardrail |',
      '|---|---|---|---|---|---|---|',
    );
    for (const { g, b } of blocked) {
      out.push(
        `| ${unitHeading(g)} | \`${g.group.groupId}\` | ${describeProtocol(b.desired.rule.protocol)} | ${describePorts(b.desired.rule)} | ${mdSource(b.desired.rule)} | ${md(b.desired.policies.join(', '))} | ${md(denialText(b.denial))} |`,
      );
    }
  }
}

/** The Markdown sections of what the plan could not cover: skipped policies, unresolved targets, failed reads. */
function markdownFailures(plan: Plan, out: string[]): void {
  const skipped = plan.skippedPolicies ?? [];
  if (skipped.length > 0) {
    pushBlock(out, '#### :x: Skipped policies (not planned: no region)');
    pushBlock(
      out,
      ...skipped.map(
        (s) => `- ${md(s.policy)} at \`${s.file}:${s.line}:${s.column}\` (\`${s.path}\`): ${md(s.error)}`,
      ),
    );
  }
  if (plan.unresolved.length > 0) {
    pushBlock(out, '#### Unresolved targets');
    pushBlock(out, ...plan.unresolved.map((u) => `- ${md(unresolvedText(u))}`));
  }
  if (plan.readFailures.length > 0) {
    pushBlock(out, '#### :x: Failed reads (these groups were not planned)');
    pushBlock(out, ...plan.readFailures.map((f) => `- ${md(unitOf(f))}\`${f.errorCode}\` ${md(f.error)}`));
  }
  if ((plan.accountFailures ?? []).length > 0) {
    pushBlock(out, '#### :x: Unreachable accounts (their regions were not planned)');
    pushBlock(
      out,
      ...(plan.accountFailures ?? []).map(
        (f) => `- ${f.account}: \`${f.errorCode}\` ${md(f.error)} (${f.regions.join(', ')})`,
      ),
    );
  }
  const listFailures = plan.prefixListFailures ?? [];
  if (listFailures.length > 0) {
    pushBlock(out, '#### :x: Failed prefix-list reads (quota figures may be low)');
    pushBlock(out, ...listFailures.map((f) => `- ${md(prefixListFailureText(f))}`));
  }
}

function renderMarkdown(result: PassResult): string {
  if (result.status === 'failed') {
    return `### sg-reconciler plan\n\n:x: The plan could not run: \`${result.errorCode}\` ${md(result.error)}\n`;
  }
  const out: string[] = ['### sg-reconciler plan'];
  pushBlock(out, `**${md(summaryLine(result))}**`);
  guardrailMarkdown(result.plan, out);
  const descriptionsReportedOnly = reportedOnly(result);
  const updates = (g: GroupPlan): readonly DescriptionDrift[] =>
    descriptionsReportedOnly ? [] : g.descriptionDrift;
  let unit: string | undefined;
  for (const g of result.plan.groups) {
    if (
      g.missing.length === 0 &&
      g.descriptionDrift.length === 0 &&
      g.drift.length === 0 &&
      !g.quota.exceeded &&
      g.quota.unknownPrefixLists === undefined
    )
      continue;
    if (unitHeading(g) !== unit) {
      unit = unitHeading(g);
      pushBlock(out, `#### Account ${g.account}, ${g.region}`);
    }
    pushBlock(out, `##### \`${g.group.groupId}\` ${md(g.group.groupName)} (${g.region})`);
    if (g.quota.exceeded || g.quota.unknownPrefixLists !== undefined)
      pushBlock(out, `:warning: ${md(quotaText(g))}`);
    if (g.missing.length > 0 || updates(g).length > 0) {
      pushBlock(out, '| | protocol | ports | source | description | policies |', '|---|---|---|---|---|---|');
      for (const d of g.missing) {
        out.push(
          `| + | ${describeProtocol(d.rule.protocol)} | ${describePorts(d.rule)} | ${mdSource(d.rule)} | ${mdDescription(d.rule.description)} | ${md(d.policies.join(', '))} |`,
        );
      }
      for (const d of updates(g)) {
        out.push(
          `| ~ | ${describeProtocol(d.desired.rule.protocol)} | ${describePorts(d.desired.rule)} | ${mdSource(d.desired.rule)} | ${mdDescription(d.live.description)} → ${mdDescription(d.desired.rule.description)} | ${md(d.desired.policies.join(', '))} |`,
        );
      }
    }
    if (descriptionsReportedOnly && g.descriptionDrift.length > 0) {
      pushBlock(out, ...reportedOnlyDescriptions(g));
    }
    if (g.drift.length > 0) {
      pushBlock(
        out,
        `<details><summary>${counted(g.drift.length, 'drift rule')}: live, not declared by any policy, left alone</summary>`,
      );
      pushBlock(
        out,
        ...liveRuleTable(
          ['protocol', 'ports', 'source', 'description'],
          g.drift.map((r) => ({
            rule: r,
            cells: [
              describeProtocol(r.protocol),
              describePorts(r),
              mdSource(r),
              mdDescription(r.description),
            ],
          })),
        ),
      );
      pushBlock(out, '</details>');
    }
  }
  markdownFailures(result.plan, out);
  return `${out.join('\n')}\n`;
}

/**
 * Markdown for description drift that is reported only: its own table, out of the table of changes,
 * saying that nothing will change it without --update-descriptions.
 */
function reportedOnlyDescriptions(g: GroupPlan): string[] {
  return [
    `${counted(g.descriptionDrift.length, 'description difference')}, **reported only**: not changed without \`--update-descriptions\``,
    '',
    '| protocol | ports | source | live description | policy description | policies |',
    '|---|---|---|---|---|---|',
    ...g.descriptionDrift.map(
      (d) =>
        `| ${describeProtocol(d.desired.rule.protocol)} | ${describePorts(d.desired.rule)} | ${mdSource(d.desired.rule)} | ${mdDescription(d.live.description)} | ${mdDescription(d.desired.rule.description)} | ${md(d.desired.policies.join(', '))} |`,
    ),
  ];
}

export function renderPlan(result: PassResult, format: PlanFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(planJson(result), null, 2)}\n`;
    case 'markdown':
      return renderMarkdown(result);
    case 'text':
      return renderText(result);
  }
}

/**
 * The plan report when the policies are invalid (exit 3), so `plan --format json > plan.json` is
 * still one document and a pull-request comment shows the errors: JSON `{ formatVersion, valid:
 * false, errors: [{ file, line, column, path, error }] }`, or Markdown with a table of the errors.
 */
export function renderInvalidPolicies(errors: readonly PolicyError[], format: 'json' | 'markdown'): string {
  if (format === 'json') {
    const document = {
      formatVersion: PLAN_FORMAT_VERSION,
      valid: false,
      errors: errors.map(({ file, line, column, path, message }) => ({
        file,
        line,
        column,
        path,
        error: message,
      })),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }
  const out = [
    '### sg-reconciler plan',
    '',
    `:x: **The policies are invalid: ${counted(errors.length, 'error')}. Nothing was planned.**`,
    '',
    '| file | line | column | field | error |',
    '|---|---|---|---|---|',
    ...errors.map(
      (e) =>
        `| \`${e.file}\` | ${e.line} | ${e.column} | ${e.path === '' ? '' : `\`${e.path}\``} | ${md(e.message)} |`,
    ),
  ];
  return `${out.join('\n')}\n`;
}
