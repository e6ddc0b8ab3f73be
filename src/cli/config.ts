// Resolved options of every command: flags win over environment variables, which win over defaults.
import type { LogLevel } from '../logging.js';

export interface CommonConfig {
  /** Policy directories and files, in the order given. */
  readonly policies: readonly string[];
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly logLevel: LogLevel;
  readonly maxRulesPerGroup: number;
  /** Client-side pacing of writes per region (calls per second). */
  readonly writesPerSecond: number;
}

export interface PlanConfig extends CommonConfig {
  readonly format: 'text' | 'json' | 'markdown';
  readonly detailedExitcode: boolean;
  readonly snapshot: string | undefined;
}

export interface ApplyConfig extends CommonConfig {
  readonly dryRun: boolean;
}

export interface RunConfig extends ApplyConfig {
  readonly schedule: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly timezone: string;
  readonly passTimeoutSeconds: number;
}
