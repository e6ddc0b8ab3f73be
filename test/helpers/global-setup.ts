// vitest globalSetup: fail the whole run at once, with the install command, when moto_server is
// missing, instead of one confusing spawn error per integration file. Each file starts its own server.
import { assertMotoServerAvailable } from './moto.js';

export default function setup(): void {
  assertMotoServerAvailable();
}
