/**
 * The simulator's command line: `npm run loadtest -- --shoppers 100000 --stock 10000 ...`
 * (see USAGE). Exits 0 when every promise held, 1 when one broke, 2 on bad options or a run
 * that could not be made.
 */
import { join } from 'node:path';
import { runIfInvoked } from './cli.js';
import { REPO_ROOT } from './service-process.js';
import { OptionError, parseCommandLine, USAGE } from './simulation-options.js';
import { runSimulation } from './simulation.js';
import { timestampName } from './simulation-report.js';

export { runSimulation, type SimulationResult, type SimulationRun } from './simulation.js';
export { resolveOptions, type SimulationOptions } from './simulation-options.js';

async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { help: _help, ...rest } = options;
  const out = rest.out ?? join(REPO_ROOT, 'loadtests', 'reports', timestampName());
  const abort = new AbortController();
  const onSignal = () => {
    process.stderr.write('\ninterrupted: ending the journeys, then checking and cleaning up (Ctrl-C again to quit at once)\n');
    abort.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    const { report, files } = await runSimulation({ options: { ...rest, out }, signal: abort.signal });
    if (files) process.stdout.write(`${files.json}\n${files.html}\n`);
    return report.passed ? 0 : 1;
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`simulation failed: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

runIfInvoked(import.meta.url, 'simulate', main);
