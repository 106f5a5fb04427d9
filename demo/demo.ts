#!/usr/bin/env node
/**
 * `npm run demo [-- --load]`: the whole stack in one process (see stack.ts), a printout
 * of what to try, and on Ctrl-C (SIGINT) or SIGTERM a clean stop with exit code 0.
 */
import { pino } from 'pino';
import { createLogger } from '../src/logger.js';
import { describeLoad, describeStack, progressLine } from './report.js';
import { startDemoStack, type DemoStack } from './stack.js';

const usage = `usage: npm run demo -- [--load] [--duration SEC] [--port N] [--employees N] [--json] [--verbose]

  --load          after start, run a load through authctx (autocannon) and print the numbers
  --duration SEC  length of the load run (default 10)
  --port N        0: let the OS choose every port (default: proxy 8080, admin 9090,
                  backend 8000, database 5433, or the next free ones)
  --employees N   generated employees in the seed, besides the named users (default 300)
  --json          print one JSON line (urls, tokens, scenarios) instead of the guide
  --verbose       authctx logs at info level (default warn), on stderr`;

interface Args {
  load: boolean;
  durationSec: number;
  port: 0 | undefined;
  employees: number;
  json: boolean;
  verbose: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { load: false, durationSec: 10, port: undefined, employees: 300, json: false, verbose: false };
  const number = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--load':
        args.load = true;
        break;
      case '--duration':
        args.durationSec = number(arg, argv[++i], 1);
        break;
      case '--port': {
        if (number(arg, argv[++i], 0) !== 0) throw new UsageError('--port takes 0 (OS-chosen ports); the defaults move to the next free port by themselves');
        args.port = 0;
        break;
      }
      case '--employees':
        args.employees = number(arg, argv[++i], 0);
        break;
      case '--json':
        args.json = true;
        break;
      case '--verbose':
        args.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${usage}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return args;
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const logger = createLogger({ level: args.verbose ? 'info' : 'warn', destination: pino.destination(2) });
  // Signals are handled from the start: Ctrl-C while PGlite boots stops what has started.
  let stopping = false;
  // eslint-disable-next-line prefer-const -- the signal handler reads it before it is assigned
  let stack: DemoStack | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!args.json) out(`\n${signal}: stopping authctx, the backend and the database`);
    // Before the stack is up, startDemoStack's promise below finishes the stop.
    stack?.stop().then(
      () => exit(0),
      (error: unknown) => {
        process.stderr.write(`authctx demo: error while stopping: ${(error as Error).stack ?? String(error)}\n`);
        exit(1);
      },
    );
  };
  const exit = (code: number) => {
    if (!args.json) out('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  if (!args.json) out('authctx demo: starting (PGlite takes a few seconds to boot)');
  stack = await startDemoStack({
    logger,
    employees: args.employees,
    ...(args.port === 0 ? { ports: 0 as const } : {}),
    print: args.json ? undefined : (line) => out(`  ${line}`),
  });
  if (stopping) {
    await stack.stop();
    exit(0);
    return;
  }

  if (args.json) {
    out(JSON.stringify({ ready: true, urls: stack.urls, tokens: stack.tokens, scenarios: stack.scenarios }));
  } else {
    out(describeStack(stack));
  }

  if (args.load) {
    const tty = process.stdout.isTTY === true;
    out(`Load: ${args.durationSec} s through ${stack.urls.proxy} with tokens of ${stack.loadUsers} users…`);
    const result = await stack.runLoad({
      durationSec: args.durationSec,
      onProgress: (elapsed, duration, requests) => {
        if (stopping || args.json) return;
        if (tty) process.stdout.write(`\r${progressLine(elapsed, duration, requests)}`);
        else out(progressLine(elapsed, duration, requests));
      },
    });
    if (stopping) return;
    if (tty) process.stdout.write('\n');
    out(args.json ? JSON.stringify({ load: result }) : describeLoad(result));
    if (!args.json) out('Still running: try the curl lines above. Ctrl-C stops everything.');
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`authctx demo: ${error.message}\n${usage}\n`);
    process.exit(64);
  }
  const e = error as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ' (a port was taken while starting; run again, or use --port 0)' : '';
  process.stderr.write(`authctx demo: could not start${hint}: ${e.stack ?? String(error)}\n`);
  process.exit(1);
});
