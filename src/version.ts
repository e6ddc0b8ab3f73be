// What build of sg-reconciler this is: the package's version (read from package.json, which sits one
// level above both src/ and dist/), for --version and the daemon's sgr_build_info.
import { readFileSync } from 'node:fs';

/** The `version` of the package.json this module was installed with, e.g. `0.1.0`. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
