// Getting missing prerequisites: with apt-get when that needs no question (root on Debian or
// Ubuntu), otherwise the one command the user runs to fix it.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { findExecutable } from './executables.mjs';

/** Set (to anything but '' or '0') to never install packages, e.g. on a machine you share. */
export const NO_INSTALL_VARIABLE = 'TOKEN_LIMITS_NO_INSTALL';

/** Why packages cannot be installed without asking here, or undefined when they can. */
export function installBlocker() {
  const noInstall = process.env[NO_INSTALL_VARIABLE];
  if (noInstall !== undefined && noInstall !== '' && noInstall !== '0') return `${NO_INSTALL_VARIABLE} is set`;
  if (process.platform !== 'linux') return `installing is automatic only on Debian or Ubuntu (this is ${process.platform})`;
  if (findExecutable('apt-get') === undefined) return 'apt-get is not on the PATH';
  if (process.getuid?.() !== 0) return 'not running as root (installing would need sudo, which asks)';
  return undefined;
}

/** Unique packages of `prerequisites`, in order. */
function aptPackages(prerequisites) {
  return [...new Set(prerequisites.flatMap((p) => p.packages?.apt ?? []))];
}

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.once('error', (error) => resolve({ ok: false, why: error.message }));
    child.once('exit', (code, signal) => resolve({ ok: code === 0, why: signal ?? `exit code ${code}` }));
  });
}

/**
 * `apt-get update`, then `apt-get install -y` of the packages of `prerequisites`. A failed update
 * only warns (the package lists on disk may do); a failed install throws.
 */
export async function aptInstall(prerequisites, log) {
  const packages = aptPackages(prerequisites);
  log(`installing ${packages.join(' ')} with apt-get (set ${NO_INSTALL_VARIABLE}=1 to stop this)`);
  const update = await run('apt-get', ['-q', 'update']);
  if (!update.ok) log(`apt-get update failed (${update.why}); trying the install with the package lists on disk`);
  const install = await run('apt-get', ['-q', 'install', '-y', ...packages]);
  if (!install.ok) throw new Error(`apt-get install -y ${packages.join(' ')} failed (${install.why})`);
}

/**
 * The lines that tell the user how to get `prerequisites`: the one command for this platform
 * first, the other platform's after it, then the variables that point at copies they have.
 */
export function fixInstructions(prerequisites, command) {
  const apt = aptPackages(prerequisites);
  const brew = prerequisites.map((p) => p.packages?.brew).filter((b) => b !== undefined);
  const debian = apt.length === 0 ? undefined : `sudo apt-get update && sudo apt-get install -y ${apt.join(' ')}`;
  const macos = brew.length === 0 ? undefined : brew.map((args) => `brew install ${args}`).join(' && ');
  const platforms = [
    ['Debian/Ubuntu', debian],
    ['macOS', macos],
  ].filter(([, line]) => line !== undefined);
  if (process.platform === 'darwin') platforms.reverse();
  const lines = [];
  const [first, ...others] = platforms;
  if (first !== undefined) {
    lines.push(`Fix it with this one command (${first[0]}), then run ${command} again:`, '', `    ${first[1]}`, '');
  }
  for (const [platform, line] of others) lines.push(`On ${platform}: ${line}`);
  const alternatives = prerequisites.map((p) => p.alternative).filter((a) => a !== undefined);
  if (alternatives.length > 0) lines.push(`Or use copies you already have: ${alternatives.join('; ')}`);
  return lines;
}
