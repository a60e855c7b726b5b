/**
 * What the command-line tools share: run `main` only when the module is the script Node was
 * started with (so tests can import it), exit with its code, and parse flags strictly, a wrong
 * one answered with a message and exit code 2.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Runs `main(argv)` when `moduleUrl` (the caller's `import.meta.url`) is the started script. */
export function runIfInvoked(moduleUrl: string, name: string, main: (argv: readonly string[]) => Promise<number>): void {
  const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
  if (moduleUrl !== invoked) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}

export type FlagOptions = NonNullable<ParseArgsConfig['options']>;
export type Flags<O extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: O }>>['values'];

/** Strict flags; undefined (the message written) when they do not parse. */
export function parseFlags<O extends FlagOptions>(argv: readonly string[], options: O): Flags<O> | undefined {
  try {
    return parseArgs({ args: [...argv], strict: true, options }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return undefined;
  }
}
