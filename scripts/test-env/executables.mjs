// Finding programs the way a shell would, without depending on `which` (a fresh machine or a
// minimal container may not have it).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import process from 'node:process';

/** True if `path` is a regular file (after symlinks) this process may execute. */
export function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `command`: itself if it contains a slash (relative to the working
 * directory), else the first match on `PATH`. `undefined` when there is none.
 */
export function findExecutable(command, path = process.env.PATH ?? '') {
  if (command.includes('/')) {
    const absolute = isAbsolute(command) ? command : resolve(command);
    return isExecutableFile(absolute) ? absolute : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
