import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createApiClient, type ApiClient, type Fetcher } from './api.js';

/** The API client for `baseUrl` / `fetcher`, asking for answers in `locale`; stable while they are. */
export function useApiClient(baseUrl: string, fetcher: Fetcher | undefined, locale: string, timeoutMs?: number): ApiClient {
  return useMemo(() => createApiClient({ baseUrl, fetcher, locale, timeoutMs }), [baseUrl, fetcher, locale, timeoutMs]);
}

/** The longest delay setTimeout keeps (about 24.8 days); longer ones fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1 - 1000;

/**
 * Calls `reload` a second after `resetAt` (an ISO time), so that a component shows the new
 * period's figures once its window renews, even without polling. Only for a reset still ahead
 * when the answer came (a server clock behind the browser's must not cause a reload loop), within
 * what setTimeout can wait.
 */
export function useReloadAtReset(resetAt: string | undefined, reload: () => void): void {
  const resetAtMs = resetAt === undefined ? Number.NaN : Date.parse(resetAt);
  useEffect(() => {
    const delay = resetAtMs - Date.now();
    if (!(delay > 0 && delay < MAX_TIMEOUT_MS)) return undefined;
    const timer = setTimeout(reload, delay + 1000);
    return () => clearTimeout(timer);
  }, [resetAtMs, reload]);
}

/**
 * `value` once it has stayed the same for `delayMs` (a search box: one request when the typing
 * pauses, not one per keystroke, each aborting the previous after the server began the work).
 */
export function useDebouncedValue<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

export interface Resource<T> {
  /** The last data loaded (kept while a refresh runs or after a failed refresh). */
  data: T | undefined;
  /** The error of the last load, cleared by the next successful one. */
  error: unknown;
  /** A load is in flight. */
  loading: boolean;
  /** Loads again now (aborting a load in flight). */
  reload: () => void;
}

/** The longest wait between polls after failed loads (unless `refreshIntervalMs` is longer). */
const MAX_BACKOFF_MS = 300_000;

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * Loads `load(signal)` on mount and whenever `key` changes, then every `refreshIntervalMs` after
 * the previous load settled (never two loads at once, so a slow API gets no request storm; polls
 * are skipped while the page is hidden, and one skipped is made as soon as the page is shown
 * again; after failed loads the wait doubles with each, up to 5 minutes). `reload()` (Retry) loads
 * at once and starts the waits over. On unmount, the timer is cleared and the load in flight
 * is aborted. `load` may change on every render: the latest one is called. `source` says where
 * the data comes from (the API's base URL): when it changes, the data of the previous source is
 * dropped rather than shown (and, should the new one fail, called out of date) as the new one's.
 */
export function useResource<T>(load: ((signal: AbortSignal) => Promise<T>) | null, key: string, refreshIntervalMs: number, source = ''): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: load !== null,
  });
  const [shownSource, setShownSource] = useState(source);
  if (shownSource !== source) {
    setShownSource(source);
    setState({ data: undefined, error: undefined, loading: load !== null });
  }
  const [reloads, setReloads] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const enabled = load !== null;

  useEffect(() => {
    if (!enabled) {
      // Turned off with a load in flight (aborted by the cleanup): nothing is loading any more.
      setState((s) => (s.loading ? { ...s, loading: false } : s));
      return undefined;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    const interval = Number.isFinite(refreshIntervalMs) && refreshIntervalMs > 0 ? Math.max(refreshIntervalMs, 250) : 0;
    // A poll skipped while the page was hidden: the figures may be as old as the time away.
    let missed = false;
    // Failed loads in a row: each doubles the wait, so that every open page does not keep an
    // API that is down or overloaded (a 503) busy at the polling rate.
    let failures = 0;
    const schedule = () => {
      if (stopped || interval <= 0) return;
      const delay = Math.min(interval * 2 ** Math.min(failures, 20), Math.max(interval, MAX_BACKOFF_MS));
      timer = setTimeout(tick, delay);
    };
    const run = async () => {
      const current = loadRef.current;
      if (current === null) return;
      missed = false;
      controller = new AbortController();
      const { signal } = controller;
      setState((s) => (s.loading ? s : { ...s, loading: true }));
      try {
        const data = await current(signal);
        if (stopped || signal.aborted) return;
        failures = 0;
        setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (stopped || signal.aborted || isAbort(error)) return;
        failures += 1;
        setState((s) => ({ data: s.data, error, loading: false }));
      }
      schedule();
    };
    const tick = () => {
      timer = undefined;
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') {
        missed = true;
        schedule();
      } else void run();
    };
    // Back on the page after a skipped poll: load now, not up to an interval later.
    const onVisible = () => {
      if (!missed || stopped || document.visibilityState === 'hidden') return;
      missed = false;
      if (timer === undefined) return; // a load is in flight: it schedules the next one
      clearTimeout(timer);
      timer = undefined;
      void run();
    };
    if (interval > 0 && typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
    void run();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
      controller?.abort();
    };
  }, [enabled, key, refreshIntervalMs, reloads]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);
  return { ...state, reload };
}

/**
 * Runs one-off requests (admin actions) with a signal that is aborted if the component unmounts
 * first; `mounted()` tells whether a result may still be shown.
 */
export function useActions(): { run: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>; mounted: () => boolean } {
  const controllers = useRef(new Set<AbortController>());
  const alive = useRef(false);
  useEffect(() => {
    alive.current = true;
    const set = controllers.current;
    return () => {
      alive.current = false;
      for (const c of set) c.abort();
      set.clear();
    };
  }, []);
  return useMemo(
    () => ({
      run: async <T,>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
        const c = new AbortController();
        controllers.current.add(c);
        try {
          return await fn(c.signal);
        } finally {
          controllers.current.delete(c);
        }
      },
      mounted: () => alive.current,
    }),
    [],
  );
}
