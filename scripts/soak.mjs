#!/usr/bin/env node
// `npm run soak -- --minutes N`: the chaos suite's soak (chaos/test/chaos/soak.test.ts) for N
// minutes (default 3, what CI runs): sales back to back with steady arrivals on a private fleet,
// a fault every minute, every promise checked per sale and the fleet's resources checked flat.
// Needs what the chaos suite needs (chaos/README.md). Prints the slopes at the end.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
let minutes = 3;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = a.startsWith('--minutes=') ? a.slice('--minutes='.length) : a === '--minutes' ? args[++i] : undefined;
  if (value === undefined) {
    process.stderr.write(`soak: unknown option ${a} (known: --minutes N)\n`);
    process.exit(2);
  }
  minutes = Number(value);
  if (!Number.isFinite(minutes) || minutes < 2 || minutes > 24 * 60) {
    process.stderr.write(`soak: --minutes must be a number from 2 to 1440, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
}

const child = spawn('npx', ['vitest', 'run', '--config', 'chaos/vitest.config.ts', 'chaos/test/chaos/soak.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, SOAK_MINUTES: String(minutes) },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
