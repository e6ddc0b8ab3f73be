// Renders a plan pass for people (text table, Markdown for pull-request comments) and machines (JSON).
import type { Denial } from '../model/guardrail.js';
import type { PolicyError } from '../model/policy.js';
import { describePorts, describeProtocol, ruleKey, type Rule } from '../model/rule.js';
import { liveRuleFields, ruleFields } from '../reconcile/reporter.js';
import type {
  BlockedRule,
  DescriptionDrift,
  DesiredRule,
  GroupPlan,
  PassResult,
  Plan,
  PrefixListReadFailure,
  Violation,
} from '../reconcile/types.js';

export const PLAN_FORMATS = ['text', 'json', 'markdown'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** The JSON report's version; bump it when a field changes meaning or disappears. */
export const PLAN_FORMAT_VERSION = 1;

function desiredJson(d: DesiredRule): object {
  return { ...ruleFields(d), tags: d.tags };
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
  return { ...denialJson(v.denial), ...liveRuleFields(g.account, g.region, g.group.groupId, v.rule) };
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
    desired: g.desired.length,
    missing: g.missing.map(desiredJson),
    blocked: g.blocked.map(blockedJson),
    violations: g.violations.map((v) => violationJson(g, v)),
    drift: g.drift.map((r) => liveRuleFields(g.account, g.region, g.group.groupId, r)),
    descriptionDrift: g.descriptionDrift.map((d) => ({
      ...desiredJson(d.desired),
      ...(d.live.ruleId !== undefined ? { ruleId: d.live.ruleId } : {}),
      live: d.live.description ?? null,
      desired: d.desired.rule.description ?? null,
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
  return `${rule.source.kind} ${rule.source.value}`;
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
  return `${f.region} ${f.errorCode}: ${f.error} (prefix lists: ${f.prefixListIds.join(', ')})`;
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

function summaryLine(result: Extract<PassResult, { status: 'completed' }>): string {
  const c = result.counts;
  return (
    `${c.missing} rule(s) to authorize in ${result.plan.groups.filter((g) => g.missing.length > 0).length} group(s)` +
    ` (${c.groups} group(s), ${c.desired} desired rule(s))` +
    (reportedOnly(result)
      ? `; ${c.drift} drift, ${c.descriptionDrift} description drift (reported only)`
      : `; ${c.descriptionUpdates ?? 0} description(s) to update; ${c.drift} drift`) +
    (c.unresolved > 0 ? `, ${c.unresolved} unresolved target(s)` : '') +
    ((c.policiesSkipped ?? 0) > 0 ? `, ${c.policiesSkipped} SKIPPED polic(ies) without a region` : '') +
    (countOf(result.plan, 'violations') > 0
      ? `, ${countOf(result.plan, 'violations')} GUARDRAIL VIOLATION(S)`
      : '') +
    (countOf(result.plan, 'blocked') > 0
      ? `, ${countOf(result.plan, 'blocked')} BLOCKED by guardrails`
      : '') +
    (c.readFailures > 0 ? `, ${c.readFailures} failed read(s)` : '') +
    ((c.accountsFailed ?? 0) > 0 ? `, ${c.accountsFailed} unreachable account(s)` : '') +
    ((result.plan.prefixListFailures?.length ?? 0) > 0
      ? `, ${result.plan.prefixListFailures?.length} failed prefix-list read(s)`
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
function guardrailText(plan: Plan): string[] {
  const out: string[] = [];
  const { violations, blocked } = guardrailFindings(plan);
  if (violations.length > 0) {
    out.push(
      '',
      `!!! GUARDRAIL VIOLATIONS: ${violations.length} live rule(s) that a guardrail denies (left in place: sg-reconciler never revokes; remove them by hand)`,
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
    out.push(
      '',
      `!!! BLOCKED BY GUARDRAILS: ${blocked.length} desired rule(s) that will not be sent to EC2`,
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
  return out;
}

/** What the last column of a reported-only description drift says (text). */
export const REPORTED_ONLY_TEXT = 'reported only: not changed without --update-descriptions';

function renderText(result: PassResult): string {
  if (result.status === 'failed') return `Plan could not run: ${result.errorCode}: ${result.error}\n`;
  const out: string[] = [`Plan: ${summaryLine(result)}`, ...guardrailText(result.plan)];
  const descriptionsReportedOnly = reportedOnly(result);
  let unit: string | undefined;
  for (const g of result.plan.groups) {
    if (unitHeading(g) !== unit) {
      unit = unitHeading(g);
      out.push('', `account ${unit}`);
    }
    out.push(
      '',
      `${g.region}  ${g.group.groupId} (${g.group.groupName}${g.group.vpcId ? `, ${g.group.vpcId}` : ''})  policies: ${g.policies.join(', ')}`,
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
        'drift: no policy declares it; left alone' +
          (violation !== undefined ? `; GUARDRAIL VIOLATION (${denialText(violation.denial)})` : ''),
      ]);
    }
    if (rows.length === 0) out.push('  up to date');
    else out.push(table(rows, '  '));
    out.push(`  ${quotaText(g)}`);
  }
  for (const s of result.plan.skippedPolicies ?? []) {
    out.push('', `skipped: policy ${s.policy} at ${s.file}:${s.line}:${s.column} (${s.path}): ${s.error}`);
  }
  for (const u of result.plan.unresolved)
    out.push(
      '',
      `unresolved: ${u.account ?? ''} ${u.region} policy ${u.policy} target ${u.target} matched no group`,
    );
  for (const f of result.plan.readFailures) {
    out.push(
      '',
      `read failed: ${f.account ?? ''} ${f.region} ${f.errorCode}: ${f.error} (skipped policies: ${f.policies.join(', ')})`,
    );
  }
  for (const f of result.plan.accountFailures ?? []) {
    out.push(
      '',
      `account failed: ${f.account} ${f.errorCode}: ${f.error} (skipped regions: ${f.regions.join(', ')})`,
    );
  }
  for (const f of result.plan.prefixListFailures ?? [])
    out.push('', `read failed: ${prefixListFailureText(f)}`);
  return `${out.join('\n')}\n`;
}

function md(text: string): string {
  return text.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
}

/** The guardrail section of the Markdown plan: right under the summary, before any group. */
function guardrailMarkdown(plan: Plan): string[] {
  const out: string[] = [];
  const { violations, blocked } = guardrailFindings(plan);
  if (violations.length > 0) {
    out.push(
      '',
      `#### :no_entry: Guardrail violations: ${violations.length} live rule(s) a guardrail denies`,
      '',
      'These rules exist now. sg-reconciler never revokes them: remove them by hand, or narrow them.',
      '',
      '| account / region | group | protocol | ports | source | rule | guardrail |',
      '|---|---|---|---|---|---|---|',
    );
    for (const { g, v } of violations) {
      out.push(
        `| ${unitHeading(g)} | \`${g.group.groupId}\` | ${describeProtocol(v.rule.protocol)} | ${describePorts(v.rule)} | \`${v.rule.source.value}\` | ${v.rule.ruleId ?? ''} | ${md(denialText(v.denial))} |`,
      );
    }
  }
  if (blocked.length > 0) {
    out.push(
      '',
      `#### :no_entry: Blocked by guardrails: ${blocked.length} desired rule(s) will not be sent`,
      '',
      '| account / region | group | protocol | ports | source | policies | guardrail |',
      '|---|---|---|---|---|---|---|',
    );
    for (const { g, b } of blocked) {
      out.push(
        `| ${unitHeading(g)} | \`${g.group.groupId}\` | ${describeProtocol(b.desired.rule.protocol)} | ${describePorts(b.desired.rule)} | \`${b.desired.rule.source.value}\` | ${md(b.desired.policies.join(', '))} | ${md(denialText(b.denial))} |`,
      );
    }
  }
  return out;
}

function renderMarkdown(result: PassResult): string {
  if (result.status === 'failed') {
    return `### sg-reconciler plan\n\n:x: The plan could not run: \`${result.errorCode}\` ${md(result.error)}\n`;
  }
  const out: string[] = [
    '### sg-reconciler plan',
    '',
    `**${md(summaryLine(result))}**`,
    ...guardrailMarkdown(result.plan),
  ];
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
      out.push('', `#### Account ${g.account}, ${g.region}`);
    }
    out.push('', `##### \`${g.group.groupId}\` ${md(g.group.groupName)} (${g.region})`, '');
    if (g.quota.exceeded || g.quota.unknownPrefixLists !== undefined)
      out.push(`:warning: ${md(quotaText(g))}`, '');
    if (g.missing.length > 0 || updates(g).length > 0) {
      out.push('| | protocol | ports | source | description | policies |', '|---|---|---|---|---|---|');
      for (const d of g.missing) {
        out.push(
          `| + | ${describeProtocol(d.rule.protocol)} | ${describePorts(d.rule)} | \`${d.rule.source.value}\` | ${md(d.rule.description ?? '')} | ${md(d.policies.join(', '))} |`,
        );
      }
      for (const d of updates(g)) {
        out.push(
          `| ~ | ${describeProtocol(d.desired.rule.protocol)} | ${describePorts(d.desired.rule)} | \`${d.desired.rule.source.value}\` | ${md(d.live.description ?? '')} → ${md(d.desired.rule.description ?? '')} | ${md(d.desired.policies.join(', '))} |`,
        );
      }
    }
    if (descriptionsReportedOnly && g.descriptionDrift.length > 0) {
      out.push(...reportedOnlyDescriptions(g));
    }
    if (g.drift.length > 0) {
      out.push(
        '',
        `<details><summary>${g.drift.length} drift rule(s): live, not declared by any policy, left alone</summary>`,
        '',
      );
      out.push('| protocol | ports | source | description | rule |', '|---|---|---|---|---|');
      for (const r of g.drift) {
        out.push(
          `| ${describeProtocol(r.protocol)} | ${describePorts(r)} | \`${r.source.value}\` | ${md(r.description ?? '')} | ${r.ruleId ?? ''} |`,
        );
      }
      out.push('', '</details>');
    }
  }
  const skipped = result.plan.skippedPolicies ?? [];
  if (skipped.length > 0) {
    out.push('', '#### :x: Skipped policies (not planned: no region)', '');
    for (const s of skipped) {
      out.push(`- ${md(s.policy)} at \`${s.file}:${s.line}:${s.column}\` (\`${s.path}\`): ${md(s.error)}`);
    }
  }
  if (result.plan.unresolved.length > 0) {
    out.push('', '#### Unresolved targets', '');
    for (const u of result.plan.unresolved)
      out.push(`- ${md(u.policy)}: \`${u.target}\` in ${u.region} matched no group`);
  }
  if (result.plan.readFailures.length > 0) {
    out.push('', '#### :x: Failed reads (these groups were not planned)', '');
    for (const f of result.plan.readFailures)
      out.push(`- ${f.account ?? ''} ${f.region}: \`${f.errorCode}\` ${md(f.error)}`);
  }
  if ((result.plan.accountFailures ?? []).length > 0) {
    out.push('', '#### :x: Unreachable accounts (their regions were not planned)', '');
    for (const f of result.plan.accountFailures ?? [])
      out.push(`- ${f.account}: \`${f.errorCode}\` ${md(f.error)} (${f.regions.join(', ')})`);
  }
  const listFailures = result.plan.prefixListFailures ?? [];
  if (listFailures.length > 0) {
    out.push('', '#### :x: Failed prefix-list reads (quota figures may be low)', '');
    for (const f of listFailures) out.push(`- ${md(prefixListFailureText(f))}`);
  }
  return `${out.join('\n')}\n`;
}

/** A reported-only description's text in Markdown: `(none)` for an empty one, as the text format says. */
function mdDescription(text: string | undefined): string {
  return text === undefined || text === '' ? '(none)' : md(text);
}

/**
 * Markdown for description drift that is reported only: its own table, out of the table of changes,
 * saying that nothing will change it without --update-descriptions.
 */
function reportedOnlyDescriptions(g: GroupPlan): string[] {
  return [
    '',
    `${g.descriptionDrift.length} description difference(s), **reported only**: not changed without \`--update-descriptions\``,
    '',
    '| protocol | ports | source | live description | policy description | policies |',
    '|---|---|---|---|---|---|',
    ...g.descriptionDrift.map(
      (d) =>
        `| ${describeProtocol(d.desired.rule.protocol)} | ${describePorts(d.desired.rule)} | \`${d.desired.rule.source.value}\` | ${mdDescription(d.live.description)} | ${mdDescription(d.desired.rule.description)} | ${md(d.desired.policies.join(', '))} |`,
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
    `:x: **The policies are invalid: ${errors.length} error(s). Nothing was planned.**`,
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
