// The reads behind `sg-reconciler import`: the groups a selection names, through the same port (and
// so the same pagination, retries, error mapping and literal filter values) as a plan's reads.
import type { Ec2Filter, Ec2Port, LiveGroup } from '../aws/port.js';
import { literalFilter } from './read.js';
import { compareStrings as compare } from '../model/compare.js';

/** Which groups to import: `all`, or the union of the listed IDs and the groups carrying every tag. */
export type GroupSelection =
  | { readonly all: true }
  | {
      readonly all: false;
      readonly groupIds: readonly string[];
      /** Every tag must match (as a `tags` target); empty = no tag selection. */
      readonly tags: Readonly<Record<string, string>>;
    };

export interface SelectedGroups {
  /** Sorted by group ID. */
  readonly groups: readonly LiveGroup[];
  /** Requested group IDs the region does not hold. */
  readonly notFound: readonly string[];
}

/**
 * Reads the selected groups of the port's region (one DescribeSecurityGroups for the IDs, one for
 * the tags, or one unfiltered for `all`) and matches them again exactly on our side. Rejects with
 * the port's Ec2Error when a read fails.
 */
export async function selectGroups(
  port: Ec2Port,
  selection: GroupSelection,
  signal?: AbortSignal,
): Promise<SelectedGroups> {
  if (selection.all) {
    const groups = await port.describeSecurityGroups([], signal);
    return { groups: [...groups].sort((a, b) => compare(a.groupId, b.groupId)), notFound: [] };
  }
  const found = new Map<string, LiveGroup>();
  const ids = [...new Set(selection.groupIds.map((id) => id.toLowerCase()))].sort(compare);
  if (ids.length > 0) {
    for (const group of await port.describeSecurityGroups([literalFilter('group-id', ids)], signal)) {
      if (ids.includes(group.groupId.toLowerCase())) found.set(group.groupId, group);
    }
  }
  const tags = Object.entries(selection.tags).sort(([a], [b]) => compare(a, b));
  if (tags.length > 0) {
    const filters: Ec2Filter[] = tags.map(([key, value]) => literalFilter(`tag:${key}`, [value]));
    for (const group of await port.describeSecurityGroups(filters, signal)) {
      if (tags.every(([key, value]) => group.tags[key] === value)) found.set(group.groupId, group);
    }
  }
  const have = new Set([...found.keys()].map((id) => id.toLowerCase()));
  return {
    groups: [...found.values()].sort((a, b) => compare(a.groupId, b.groupId)),
    notFound: ids.filter((id) => !have.has(id)),
  };
}
