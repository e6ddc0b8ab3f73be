// `npm run bench`: the scale benchmark (in-memory EC2 fake) and the API-call benchmark (moto + the
// counting proxy), one after the other. The daemon soak is long and runs on its own
// (`npm run bench:soak`). Exit status 1 when any verdict fails.
//
//   node .cache/bench-build/bench/run.js [--sizes 1000,10000,50000] [--repeats 3] [--runs 7]
import { apiCallsOptionsFrom, runApiCalls } from './api-calls.js';
import { runScale, scaleOptionsFrom } from './scale.js';

const args = process.argv.slice(2);
console.log(`sg-reconciler benchmarks — ${new Date().toISOString()}, Node ${process.version}`);
const scale = await runScale(scaleOptionsFrom(args));
const calls = await runApiCalls(apiCallsOptionsFrom(args));
console.log(
  `\nscale: ${scale.ok ? 'all targets met' : 'targets missed'}; api-calls: ${calls.ok ? 'all checks pass' : 'checks failed'}`,
);
process.exitCode = scale.ok && calls.ok ? 0 : 1;
