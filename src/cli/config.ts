// The typed options of every command, as commander hands them over after each value went through
// its parser in options.ts: flags win over environment variables, which win over the defaults.
import type { LogFormat, LogLevel } from '../logging.js';
import type { Shard } from '../model/units.js';
import type { ListenAddress } from './options.js';
import type { PlanFormat } from './render-plan.js';

/** Options of every command: how its events are logged. */
export interface LogOptions {
  readonly logLevel: LogLevel;
  /** Undefined: pretty on a terminal, JSON otherwise. */
  readonly logFormat: LogFormat | undefined;
}

/** Options of every command but import: the policies and what they are judged against. */
export interface CommonOptions extends LogOptions {
  /** Policy directories and files, in the order given. */
  readonly policies: readonly string[];
  /** The wall clock guardrail exceptions are judged by (SGR_NOW, a test hook, or the system clock). */
  readonly clock: () => Date;
  /** `--accounts`: an inventory file, `organizations`, or undefined (the own account only). */
  readonly accounts: string | undefined;
}

/** How a command reaches AWS (plan, apply, run, snapshot, import). */
export interface AwsAccessOptions extends LogOptions {
  /** `--accounts`: an inventory file, `organizations`, or undefined (the own account only). */
  readonly accounts: string | undefined;
  /** `--region` or AWS_REGION; the rest of the AWS CLI's chain is resolved later (region.ts). */
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  /** `--role-name`: the role assumed in accounts discovered with Organizations. */
  readonly roleName: string;
  /** `--shard`: this process's share of the (account, region) units. */
  readonly shard: Shard | undefined;
  /** `--concurrency`: units worked on at once. */
  readonly concurrency: number;
}

/** Options of the commands that load policies and read EC2 (plan, apply, run, snapshot). */
export interface AwsOptions extends CommonOptions, AwsAccessOptions {}

/** Options of the commands that plan (plan, apply, run). */
export interface QuotaOptions extends AwsOptions {
  /** The per-group rule quota the plan projects against. */
  readonly maxRulesPerGroup: number;
}

export interface PlanOptions extends QuotaOptions {
  readonly format: PlanFormat;
  readonly detailedExitcode: boolean;
  readonly snapshot: string | undefined;
  /** Exit 1 when a target matched no group (CI's strict mode). */
  readonly failOnUnresolved: boolean;
  /** Show description drift as changes `apply --update-descriptions` would make. */
  readonly updateDescriptions: boolean;
}

/** Options of the commands that write (apply, run). */
export interface WriteOptions extends QuotaOptions {
  readonly dryRun: boolean;
  /** Client-side pacing of writes per region (calls per second). */
  readonly writeRate: number;
}

export interface ApplyOptions extends WriteOptions {
  readonly failOnUnresolved: boolean;
  /** Set the policy's description on declared rules whose live description differs. */
  readonly updateDescriptions: boolean;
}

export interface RunOptions extends WriteOptions {
  /** Set the policy's description on declared rules whose live description differs, every pass. */
  readonly updateDescriptions: boolean;
  readonly schedule: string;
  readonly listen: ListenAddress;
  readonly timezone: string;
  /** Seconds a pass may run before it is aborted. */
  readonly passTimeout: number;
}

export interface SnapshotOptions extends AwsOptions {
  /** Where the snapshot document is written (atomically); required, checked by the command. */
  readonly out: string | undefined;
}

/** import writes policies and reads none: it has no --policies. */
export interface ImportOptions extends AwsAccessOptions {
  /** The directory the policies are written into (created if missing); required, checked by the command. */
  readonly out: string | undefined;
  /** Overwrite files that already exist in `out`. */
  readonly force: boolean;
  /** Read from this snapshot instead of EC2. */
  readonly snapshot: string | undefined;
  /** --group-id, repeatable (lower-cased sg- IDs). */
  readonly groupId: readonly string[] | undefined;
  /** --tag K=V, repeatable: a group must carry every tag. */
  readonly tag: Readonly<Record<string, string>> | undefined;
  /** --all: every group of the region. */
  readonly all: boolean;
}
