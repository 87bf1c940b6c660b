/** Calls an app callback; a throw or a rejected returned promise goes to `onFailure`, which must not throw. */
export function callQuietly(call: () => unknown, onFailure: (error: unknown) => void): void {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    try {
      onFailure(error);
    } catch {
      // Nowhere left to report it.
    }
    return;
  }
  if (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    Promise.resolve(result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
      try {
        onFailure(error);
      } catch {
        // Nowhere left to report it.
      }
    });
  }
}
