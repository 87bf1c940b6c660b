import { createHash } from 'node:crypto';
import { BIND_LIBRARY_LOCALS, CACHED_PARSERS, PRELUDE, PRELUDE_BODY, LIBRARY_LOCALS, parserLine } from './lua/prelude.js';
import type { RedisLikeClient, Script, ScriptShortcut } from './scripts.js';

/**
 * The hot-path scripts as one Redis Functions library, run with FCALL where the server allows it.
 *
 * Why: an EVAL script starts from nothing on every call, so each reserve and each commit defined
 * the prelude's functions again and parsed the user's rules again (about 0.8 µs of Redis time per
 * rule, twice per call). A library's top-level locals live as long as the library, so here the
 * prelude is defined once per load, and parsed rules and alert thresholds are kept between calls,
 * by their binary value, at most {@link RULES_CACHE_SIZE} of each. Nothing else is kept: every other
 * argument is still validated on every call, and a cached value is only ever the parse (and check)
 * of the same bytes.
 *
 * EVALSHA stays the way every call can go: the first calls of a store, while the library loads in
 * the background; every call where FUNCTION is refused (Redis before 7, an ACL without it, a
 * managed Redis that disables it); and a call whose FCALL found no function (a restart, a
 * failover, FUNCTION FLUSH, a new Cluster node), after which the library is loaded again. Those
 * replies mean the function did not run, so running the script instead is safe.
 *
 * The library's name and its functions' names carry a hash of its source: function names are
 * global on a server, and two builds of this package can share one Redis during a deploy. A
 * library is never deleted by the store (another process may be using it); see docs/stores.md.
 */

/** Parsed values of each kind (rules, thresholds) kept by a library between calls; past it that cache starts again empty. */
export const RULES_CACHE_SIZE = 512;

/**
 * After a load that failed for another reason than a refusal, calls use EVALSHA for this long; a
 * load not answered within it counts as failed.
 */
export const LOAD_RETRY_MS = 10_000;

export interface Library {
  readonly name: string;
  readonly source: string;
  /** The function that runs each script of the library. */
  readonly functions: ReadonlyMap<Script, string>;
}

/**
 * Builds a library whose functions run the given scripts. The prelude (lua/prelude.ts) is defined
 * once, at the library's top, instead of on every call; the Redis and Lua library functions it
 * keeps in locals are bound at the first call (none of them can be reached while a library loads);
 * and rules and thresholds are parsed once per value (CACHED_PARSERS in lua/prelude.ts).
 */
export function buildLibrary(scripts: readonly Script[]): Library {
  const hash = createHash('sha1')
    .update(scripts.map((s) => s.source).join('\0'))
    .digest('hex')
    .slice(0, 16);
  const name = `tl_${hash}`;
  const functions = new Map<Script, string>();
  const head = `#!lua\n${PRELUDE}`;
  let body = PRELUDE_BODY;
  for (const p of CACHED_PARSERS) {
    const line = parserLine(p);
    if (body.split(line).length !== 2) throw new Error(`The prelude must name its parser once: ${line}`);
    body = body.replace(line, cachedParser(p.name, p.parser));
  }
  const parts = [`#!lua name=${name}`, `local ${LIBRARY_LOCALS.join(', ')}`, body];
  for (const script of scripts) {
    if (!script.source.startsWith(head)) throw new Error(`The ${script.name} script cannot join a library: it must start with '#!lua' and the prelude`);
    const fn = `${name}_${script.name}`;
    const local = `run_${script.name.replace(/\W/g, '_')}`;
    functions.set(script, fn);
    parts.push(
      `local function ${local}(KEYS, ARGV)`,
      `if not ${LIBRARY_LOCALS[0]} then ${BIND_LIBRARY_LOCALS} end`,
      script.source.slice(head.length),
      `end`,
      // No flags: like a '#!lua' script without flags, refused before it runs when memory is full.
      `redis.register_function('${fn}', ${local})`,
    );
  }
  return { name, source: parts.join('\n'), functions };
}

/**
 * Lua binding `name` to `parser` behind a cache of its results by value. Only a value that parsed
 * is kept; the scripts read the tables and never change them, but for what scopeWindows and
 * holdValue (lua/prelude.ts) keep on a rules table: its field names, its hold format.
 */
function cachedParser(name: string, parser: string): string {
  const cache = `${name.toUpperCase()}_CACHE`;
  return [
    `local ${cache}, ${cache}_N = {}, 0`,
    `local function ${name}(v)`,
    `  local hit = v and ${cache}[v]`,
    `  if hit then return hit end`,
    `  local parsed = ${parser}(v)`,
    `  if parsed then`,
    `    if ${cache}_N >= ${RULES_CACHE_SIZE} then ${cache}, ${cache}_N = {}, 0 end`,
    `    ${cache}[v] = parsed; ${cache}_N = ${cache}_N + 1`,
    `  end`,
    `  return parsed`,
    `end`,
  ].join('\n');
}

/** What loading and calling a library needs of a client, beyond {@link RedisLikeClient}. */
interface FunctionsClient extends RedisLikeClient {
  fcall(name: string, numKeys: number, ...args: Array<string | Buffer>): Promise<unknown>;
  call(command: string, ...args: string[]): Promise<unknown>;
  /** ioredis Cluster: its masters (the library is loaded on each). */
  nodes?(role: 'master'): Array<{ call(command: string, ...args: string[]): Promise<unknown> }>;
}

function canCall(client: RedisLikeClient): client is FunctionsClient {
  const c = client as Partial<FunctionsClient>;
  return typeof c.fcall === 'function' && typeof c.call === 'function';
}

/**
 * Whether a store's calls can use the library now: unknown until the first call asks, then
 * loading, ready, or off (FUNCTION refused: EVALSHA for the life of the store).
 */
export class LibraryRunner implements ScriptShortcut {
  #state: 'idle' | 'loading' | 'ready' | 'off';
  #retryAt = 0;
  #client: RedisLikeClient;

  constructor(
    client: RedisLikeClient,
    readonly library: Library,
  ) {
    this.#client = client;
    this.#state = canCall(client) ? 'idle' : 'off';
  }

  /**
   * Runs the script by FCALL when the library is loaded; otherwise answers undefined (run it by
   * EVALSHA), and starts loading the library if that was not tried yet. Also undefined when the
   * FCALL found no function or FCALL was refused to this user: then it did not run.
   */
  async tryRun(script: Script, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<{ reply: unknown } | undefined> {
    const fn = this.library.functions.get(script);
    if (fn === undefined || this.#state === 'off') return undefined;
    if (this.#state !== 'ready') {
      if (this.#state === 'idle' && Date.now() >= this.#retryAt) void this.#load();
      return undefined;
    }
    try {
      return { reply: await (this.#client as FunctionsClient).fcall(fn, keys.length, ...keys, ...args) };
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (message.startsWith('ERR Function not found')) {
        if (this.#state === 'ready') this.#state = 'idle';
        return undefined;
      }
      // FCALL itself refused (an ACL without it): EVALSHA from now on. A refusal of the keys is
      // not about FCALL: EVALSHA would be refused too, so it is thrown like any other error.
      if (/^NOPERM .*'fcall' command/.test(message)) {
        this.#state = 'off';
        return undefined;
      }
      throw error;
    }
  }

  /** Loads the library (on every master of a Cluster); "already exists" is success. */
  async #load(): Promise<void> {
    this.#state = 'loading';
    const client = this.#client as FunctionsClient;
    let targets: ReturnType<NonNullable<FunctionsClient['nodes']>> = [];
    let results: Array<PromiseSettledResult<unknown>>;
    try {
      targets = typeof client.nodes === 'function' ? client.nodes('master') : [client];
      // async: a client that throws instead of rejecting still ends in a settled result.
      const loads = Promise.allSettled(targets.map(async (node) => node.call('FUNCTION', 'LOAD', this.library.source)));
      // A client that never answers (no commandTimeout, an endless offline queue) must not leave
      // the store 'loading' for good: past LOAD_RETRY_MS the load counts as failed, and is tried
      // again at the next call (a late success then answers "already exists").
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, LOAD_RETRY_MS, undefined);
        timer.unref?.();
      });
      const settled = await Promise.race([loads, late]);
      clearTimeout(timer);
      if (settled === undefined) {
        // Already LOAD_RETRY_MS without an answer: the next call may try again.
        this.#state = 'idle';
        this.#retryAt = 0;
        return;
      }
      results = settled;
    } catch (error) {
      // Nothing may escape: this runs in the background, and a failure only means EVALSHA for now.
      results = [{ status: 'rejected', reason: error }];
    }
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    const failed = failures.filter((m) => !m.startsWith(`ERR Library '${this.library.name}' already exists`));
    if (targets.length > 0 && failed.length === 0) {
      this.#state = 'ready';
    } else if (failed.some(refused)) {
      this.#state = 'off';
    } else {
      this.#state = 'idle';
      this.#retryAt = Date.now() + LOAD_RETRY_MS;
    }
  }
}

/** Replies that mean this server will not load functions for this client, whatever the retry. */
function refused(message: string): boolean {
  return /^(NOPERM|ERR unknown command|ERR unknown subcommand|ERR Error registering functions)/i.test(message);
}
