import { createHash } from 'node:crypto';

/** The smallest Redis client surface the store calls; ioredis `Redis` and `Cluster` satisfy it. */
export interface RedisLikeClient {
  evalsha(sha: string, numKeys: number, ...args: Array<string | Buffer>): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Array<string | Buffer>): Promise<unknown>;
}

/**
 * A faster way to run some scripts, tried first (functions.ts: FCALL of a library); it answers
 * undefined when the script did not run, which then runs by EVALSHA.
 */
export interface ScriptShortcut {
  tryRun(script: Script, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<{ reply: unknown } | undefined>;
}

export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export function defineScript(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script: by FCALL when it belongs to a loaded library (functions.ts), else by SHA, falling
 * back to EVAL only on NOSCRIPT (the script cache empties on restart,
 * failover and SCRIPT FLUSH). A NOSCRIPT reply means the script did not run, so the retry is safe.
 *
 * With `retryUntil` (ms since epoch), a Redis Cluster redirection that the client gave up on (ioredis
 * follows MOVED/ASK/TRYAGAIN up to `maxRedirections` times, about 1.6 s) is retried every
 * {@link REDIRECT_RETRY_MS} until then: those replies mean the script did not run, and while a slot
 * is being migrated a multi-key script gets TRYAGAIN until the user's keys are all on one side.
 */
export async function runScript(
  client: RedisLikeClient,
  script: Script,
  keys: readonly string[],
  args: readonly (string | Buffer)[],
  retryUntil?: number,
  shortcut?: ScriptShortcut,
): Promise<unknown> {
  for (;;) {
    try {
      return await runOnce(client, script, keys, args, shortcut);
    } catch (error) {
      if (retryUntil === undefined || !notExecuted(error) || Date.now() + REDIRECT_RETRY_MS >= retryUntil) throw error;
      await new Promise((resolve) => setTimeout(resolve, REDIRECT_RETRY_MS));
    }
  }
}

/** Pause between two tries of a script the cluster redirected. */
export const REDIRECT_RETRY_MS = 50;

async function runOnce(
  client: RedisLikeClient,
  script: Script,
  keys: readonly string[],
  args: readonly (string | Buffer)[],
  shortcut: ScriptShortcut | undefined,
): Promise<unknown> {
  const ran = await shortcut?.tryRun(script, keys, args);
  if (ran) return ran.reply;
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return client.eval(script.source, keys.length, ...keys, ...args);
    }
    throw error;
  }
}

/** Replies that mean the command was not executed: Redis Cluster redirections and a cluster that is down. */
function notExecuted(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const m = error.message;
  if (/^(TRYAGAIN|CLUSTERDOWN|MOVED|ASK) /.test(m)) return true;
  // ioredis: every attempt was redirected (the last one's reply is quoted).
  return /^Too many Cluster redirections\. Last error: (ReplyError: )?(TRYAGAIN|CLUSTERDOWN|MOVED|ASK) /.test(m);
}
