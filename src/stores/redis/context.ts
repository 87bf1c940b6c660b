import { QuotaStoreError } from '../../kernel/errors.js';
import type { StoreSettings } from '../protocol/types.js';
import { DEFAULT_STORE_SETTINGS } from '../protocol/window.js';
import { LibraryRunner } from './functions.js';
import { globalKeys } from './keys.js';
import { HOT_PATH_LIBRARY } from './registry.js';
import { runScript, type RedisLikeClient, type Script } from './scripts.js';
import type { ScriptArg } from './schema.js';
import { tickWrites } from './tick-writes.js';

/** What the parts of RedisStore share: the client, the key prefix, the settings, the server's clock. */
export class RedisContext {
  readonly global: ReturnType<typeof globalKeys>;
  /** The hot-path scripts as a Redis Functions library, where the server takes it (functions.ts). */
  readonly #library: LibraryRunner;
  /** Called before each command: a burst of commands in one tick leaves in few socket writes (tick-writes.ts). */
  readonly #coalesce: () => void;
  settings: StoreSettings = DEFAULT_STORE_SETTINGS;
  /** Server time minus local time, learned from replies; picks month keys before a call. */
  #offset = 0;

  constructor(
    readonly client: RedisLikeClient,
    readonly prefix: string,
  ) {
    this.global = globalKeys(prefix);
    this.#library = new LibraryRunner(client, HOT_PATH_LIBRARY);
    this.#coalesce = tickWrites(client);
  }

  /** The server's time as best known here (the engine's clock when it gave one). */
  serverNow(now?: number): number {
    return now ?? Date.now() + this.#offset;
  }

  /** Records the server's time from a reply; throws if the reply has none. */
  learn(nowRaw: unknown): number {
    const now = Number(nowRaw);
    if (!Number.isFinite(now)) throw new QuotaStoreError('reply', 'The store replied without a time');
    this.#offset = now - Date.now();
    return now;
  }

  /** Runs a script (FCALL in the library, else EVALSHA, EVAL on NOSCRIPT; cluster redirections retried within the operation timeout). */
  run(script: Script, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    this.#coalesce();
    return runScript(this.client, script, keys, args, Date.now() + this.settings.operationTimeoutMs, this.#library);
  }

  /** Runs a script whose reply must be an array. */
  async runArray(script: Script, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown[]> {
    const reply = await this.run(script, keys, args);
    if (!Array.isArray(reply)) throw new QuotaStoreError(script.name, `Unexpected reply from the ${script.name} script`);
    return reply;
  }
}
