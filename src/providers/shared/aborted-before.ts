/**
 * Whether `signal` aborts before `admission` settles (already aborted: true): a call aborted
 * while its reserve is on its way to the store sends nothing, and its caller is answered at once
 * rather than after the store. Never rejects, and leaves no listener behind.
 */
export function abortedBefore(admission: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => resolve(true);
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      signal.removeEventListener('abort', onAbort);
      resolve(signal.aborted);
    };
    admission.then(done, done);
  });
}
