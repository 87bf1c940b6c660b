// `npm test`: makes sure what the tests need is on this machine, then runs the main suite, the
// fault-injection suite and the Node 22 lane with it, so a fresh clone needs only
// `npm install && npm test`.
//
// What it needs (scripts/test-env/prerequisites.mjs): redis-server and redis-cli, Chromium, and a
// Redis answering at REDIS_URL (default redis://127.0.0.1:6379). Missing programs are installed
// with apt-get when that needs no question (root, Debian/Ubuntu); otherwise it stops before any
// test with the one command that fixes it. With no Redis answering, it starts a redis-server of
// its own for the run and stops it at the end, whatever way the run ends.
//
// Usage: node scripts/test-env.mjs [--suite all|main|faults|node22] [--watch] [--print-env] [vitest args]
// Run with --help for the details.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { failuresIn } from './test-env/report.mjs';
import { aptInstall, fixInstructions, installBlocker } from './test-env/install.mjs';
import { PREREQUISITES } from './test-env/prerequisites.mjs';
import { killStartedServersNow } from './test-env/redis.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SUITES = {
  main: { title: 'main suite', config: 'vitest.config.ts' },
  faults: { title: 'fault-injection suite', config: 'vitest.faults.config.ts' },
  // Packages that need Node 22 (ai 7, openai 7): run by a Node 22 from the npm registry.
  node22: { title: 'Node 22 lane', config: 'vitest.node22.config.ts', node: 22 },
};

const HELP = `Usage: node scripts/test-env.mjs [options] [vitest arguments]

Makes sure the tests' prerequisites are there (redis-server and redis-cli, Chromium, a Redis at
REDIS_URL or 127.0.0.1:6379, else one started for the run), then runs the suites with vitest.

  --suite all|main|faults|node22
                           which suites (default all: main, faults, then the Node 22 lane,
                           whose Node comes from the npm registry's node-<os>-<arch>@22 package,
                           installed into .cache/node22 on first use; every suite always runs)
  --watch                  vitest in watch mode (one suite only)
  --print-env              prepare, print the environment as KEY=value lines, and keep any
                           server it started until stdin closes, SIGINT or SIGTERM
  --help                   this text

Environment: REDIS_URL, CHROMIUM_PATH, REDIS_SERVER_BIN, REDIS_CLI_BIN (use these instead of
looking); TOKEN_LIMITS_NO_INSTALL=1 (never run apt-get, only say what to install).
Exit code: 0 when every suite passed; 1 when one failed or a prerequisite is missing.`;

function log(message) {
  process.stderr.write(`test-env: ${message}\n`);
}

/** How the user started us, for "run it again" messages. */
function ourCommand() {
  const script = process.env.npm_lifecycle_event;
  if (script === 'test') return 'npm test';
  return script === undefined ? 'node scripts/test-env.mjs' : `npm run ${script}`;
}

/** `{ suites, watch, printEnv, help, vitestArgs }` from the command line; throws on misuse. */
function parseArgs(argv) {
  const options = { suite: 'all', watch: false, printEnv: false, help: false, vitestArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--watch') options.watch = true;
    else if (arg === '--print-env') options.printEnv = true;
    else if (arg === '--suite') options.suite = argv[++i];
    else if (arg.startsWith('--suite=')) options.suite = arg.slice('--suite='.length);
    else options.vitestArgs.push(arg);
  }
  if (options.suite !== 'all' && !(options.suite in SUITES)) throw new Error(`--suite must be all, main, faults or node22, got ${options.suite}`);
  const suites = options.suite === 'all' ? Object.keys(SUITES) : [options.suite];
  if (suites.length > 1 && (options.watch || options.vitestArgs.length > 0)) {
    throw new Error(
      `${ourCommand()} runs every suite; to pass arguments to vitest or watch, pick one suite: ` +
        `npm run test:unit -- <args> (or test:faults, test:watch)`,
    );
  }
  return { ...options, suites };
}

/** Services started for this run (redis-server), stopped at the end. */
const started = [];
let stopping;
/** Stops the services started for this run (once), then exits with `code`. */
function stopServicesAndExit(code) {
  stopping ??= Promise.all(started.map((service) => service.stop())).then(() => {
    for (const service of started) log(`stopped ${service.label}`);
  });
  return stopping.finally(() => process.exit(code));
}
// Last resort for any exit that skips stopServicesAndExit (a second Ctrl-C, an uncaught error).
process.on('exit', killStartedServersNow);

/** The vitest child running now, to forward signals to (apt-get is left to finish). */
let current;
let signalled;
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
for (const [signal, number] of Object.entries(SIGNAL_NUMBERS)) {
  process.on(signal, () => {
    if (signalled !== undefined) process.exit(128 + number); // a second signal: stop now
    signalled = signal;
    log(`${signal}: stopping`);
    // With a child running, main() goes on when it exits and stops the services itself.
    if (current !== undefined) current.kill(signal);
    else void stopServicesAndExit(128 + number);
  });
}

class MissingPrerequisites extends Error {}

/** Prints what is missing and how to fix it, then throws. */
function failMissing(missing, blocker) {
  const lines = [
    'cannot run the tests: this machine lacks',
    ...missing.map(({ prerequisite, finding }) => `  - ${prerequisite.name}: ${finding.why}`),
    `not installing them: ${blocker}`,
  ];
  for (const line of lines) log(line);
  process.stderr.write(`\n${fixInstructions(missing.map((m) => m.prerequisite), ourCommand()).join('\n')}\n\n`);
  throw new MissingPrerequisites('missing prerequisites');
}

/**
 * Finds, installs (when allowed) or starts every prerequisite of `suites`; returns the variables
 * the tests need (REDIS_URL, CHROMIUM_PATH, ...). Throws MissingPrerequisites when it cannot.
 */
async function prepare(suites) {
  const needed = PREREQUISITES.filter((p) => p.suites.some((suite) => suites.includes(suite)));
  const env = {};
  const use = (prerequisite, finding) => {
    Object.assign(env, finding.env);
    log(`${prerequisite.name}: ${finding.note}`);
  };

  const missing = [];
  for (const prerequisite of needed.filter((p) => p.start === undefined)) {
    const finding = await prerequisite.find(env);
    if (finding.found) use(prerequisite, finding);
    else missing.push({ prerequisite, finding });
  }
  if (missing.length > 0) {
    const notByPackages = missing.find((m) => m.finding.installable === false || m.prerequisite.packages === undefined);
    const blocker =
      notByPackages !== undefined
        ? `a setting points at a program that is not there (${notByPackages.prerequisite.name}, above): fix or unset it first`
        : installBlocker();
    if (blocker !== undefined) failMissing(missing, blocker);
    for (const { prerequisite, finding } of missing) log(`${prerequisite.name}: ${finding.why}`);
    await aptInstall(missing.map((m) => m.prerequisite), log);
    const stillMissing = [];
    for (const { prerequisite } of missing) {
      const finding = await prerequisite.find(env);
      if (finding.found) use(prerequisite, finding);
      else stillMissing.push({ prerequisite, finding });
    }
    if (stillMissing.length > 0) failMissing(stillMissing, 'apt-get install did not provide them');
  }

  for (const prerequisite of needed.filter((p) => p.start !== undefined)) {
    const finding = await prerequisite.find(env);
    if (finding.found) {
      use(prerequisite, finding);
      continue;
    }
    log(`${prerequisite.name}: ${finding.why}`);
    const service = await prerequisite.start(env);
    started.push(service);
    use(prerequisite, service);
  }
  return env;
}

/** `value` as a POSIX shell word. */
function shellWord(value) {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** `--print-env`: the variables, details of started services, then hold until stdin ends. */
async function printEnvAndHold(env) {
  const lines = Object.entries(env).map(([key, value]) => `${key}=${shellWord(value)}`);
  for (const service of started) {
    const details = Object.entries(service.details ?? {}).map(([key, value]) => `${key}=${String(value)}`);
    lines.push(`# started ${service.label}: ${details.join(' ')}`);
  }
  lines.push('# ready: held until stdin closes, SIGINT or SIGTERM');
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    process.stdin.once('error', resolve);
    process.stdin.resume();
  });
}

/** The vitest CLI of this project's node_modules; throws if `npm install` has not run. */
function vitestCli() {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/vitest/package.json'), 'utf8'));
    return join(ROOT, 'node_modules/vitest', typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.vitest);
  } catch {
    throw new Error('vitest is not installed: run npm install first');
  }
}

/**
 * The node binary of a suite: this one, or Node `major` from the npm registry (the package
 * node-<os>-<arch>@<major>, whose bin/node is a plain Node build), installed into .cache on first use.
 */
async function nodeFor(suite) {
  const major = SUITES[suite].node;
  if (major === undefined) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(ROOT, `.cache/node${major}`);
  const binary = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(binary)) {
    log(`installing Node ${major} for the ${SUITES[suite].title}: npm install --prefix .cache/node${major} ${pkg}@${major}`);
    const code = await new Promise((resolve) => {
      const npm = spawn('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', `${pkg}@${major}`], { cwd: ROOT, stdio: 'inherit' });
      npm.once('error', () => resolve(1));
      npm.once('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0 || !existsSync(binary)) throw new Error(`could not install Node ${major} (${pkg}@${major}) from the npm registry`);
  }
  return binary;
}

/** Runs one suite; resolves with vitest's exit code (128 + n when killed by a signal). */
async function runSuite(cli, suite, options, env) {
  const args = [cli, options.watch ? 'watch' : 'run', '-c', SUITES[suite].config, ...reportArgs(suite, options), ...options.vitestArgs];
  let node;
  try {
    node = await nodeFor(suite);
  } catch (error) {
    log(error.message);
    return 1;
  }
  log(`running the ${SUITES[suite].title}: vitest ${args.slice(1).join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(node, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    current = child;
    child.once('error', (error) => {
      log(`could not start vitest: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      current = undefined;
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal] ?? 9));
    });
  });
}

/**
 * Where a suite's JSON report goes, so that a failure can be named again at the end of the run:
 * CI logs keep their tail, and the main suite's failures would otherwise scroll away behind the
 * other suites' output. Not in watch mode, nor when the caller picks reporters.
 */
function reportFile(suite) {
  return join(ROOT, `.cache/vitest-${suite}.json`);
}

function reportArgs(suite, options) {
  if (options.watch || options.vitestArgs.some((arg) => arg.startsWith('--reporter'))) return [];
  rmSync(reportFile(suite), { force: true });
  return ['--reporter=default', '--reporter=json', `--outputFile.json=${reportFile(suite)}`];
}

function logFailures(suite) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportFile(suite), 'utf8'));
  } catch {
    return;
  }
  const lines = failuresIn(report, ROOT);
  if (lines.length === 0) return;
  log(`${SUITES[suite].title}: ${lines.length} failed:`);
  for (const line of lines) log(`  ${line}`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const cli = options.printEnv ? undefined : vitestCli();
  const setupStart = Date.now();
  const env = await prepare(options.suites);
  if (options.printEnv) {
    await printEnvAndHold(env);
    return 0;
  }
  log(`prerequisites ready in ${seconds(Date.now() - setupStart)}`);

  const results = [];
  for (const suite of options.suites) {
    if (signalled !== undefined) break;
    const start = Date.now();
    const code = await runSuite(cli, suite, options, env);
    results.push({ suite, code, ms: Date.now() - start });
  }
  if (signalled !== undefined) return 128 + SIGNAL_NUMBERS[signalled];
  for (const { suite, code } of results) if (code !== 0) logFailures(suite);
  const summary = results.map(({ suite, code, ms }) => `${SUITES[suite].title} ${code === 0 ? 'passed' : `FAILED (exit code ${code})`} in ${seconds(ms)}`);
  log(summary.join('; '));
  return results.find((r) => r.code !== 0)?.code ?? 0;
}

let exitCode;
try {
  exitCode = await main();
} catch (error) {
  if (!(error instanceof MissingPrerequisites)) log(error instanceof Error ? error.message : String(error));
  exitCode = 1;
}
await stopServicesAndExit(exitCode);
