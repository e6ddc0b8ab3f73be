// The default region, resolved as the AWS CLI resolves it: --region, AWS_REGION, AWS_DEFAULT_REGION,
// the region of the shared config profile (AWS_PROFILE, ~/.aws/config and ~/.aws/credentials), and
// on EC2 the instance's region. Everything after AWS_DEFAULT_REGION is the SDK's own loader
// (the same selectors the EC2 client uses), so profiles, AWS_CONFIG_FILE and IMDS behave exactly
// as they do for the SDK's calls. AWS_DEFAULT_REGION is the AWS CLI's variable the SDK ignores.
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';

/** A resolved default region and where it came from (for messages and the reconcile.started event). */
export interface ResolvedRegion {
  readonly region: string;
  /** `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, or `shared config profile` / `instance metadata`. */
  readonly source: string;
}

/** Where a person sets a default region, in one line (for the error of a policy that has none). */
export const REGION_HELP =
  'set spec.region in the policy, pass --region, or set AWS_REGION, AWS_DEFAULT_REGION or region in the AWS profile';

/**
 * Resolves the default region. `explicit` is the value of --region / AWS_REGION (commander already
 * read both). Resolves undefined when no source names one; never throws for a missing region.
 */
export async function resolveDefaultRegion(
  explicit: { readonly value: string; readonly source: string } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedRegion | undefined> {
  if (explicit !== undefined) return { region: explicit.value, source: explicit.source };
  const fallback = env['AWS_DEFAULT_REGION']?.trim();
  if (fallback !== undefined && fallback !== '') return { region: fallback, source: 'AWS_DEFAULT_REGION' };
  let fromImds = false;
  const load = loadConfig<string | undefined>(
    {
      // AWS_REGION was read by the caller (the flag wins over it).
      environmentVariableSelector: () => undefined,
      configFileSelector: NODE_REGION_CONFIG_OPTIONS.configFileSelector,
      default: async () => {
        fromImds = true;
        try {
          return await (NODE_REGION_CONFIG_OPTIONS.default as () => Promise<string>)();
        } catch {
          return undefined;
        }
      },
    },
    NODE_REGION_CONFIG_FILE_OPTIONS,
  );
  let region: string | undefined;
  try {
    region = await load();
  } catch {
    region = undefined;
  }
  if (region === undefined || region === '') return undefined;
  return { region, source: fromImds ? 'instance metadata' : 'shared config profile' };
}
