import type { IncomingMessage } from 'node:http';

/**
 * The body of a `node:http` request as `toNodeListener` hands it to a Fetch handler: a web stream
 * read only when the handler asks, and, once the response is sent, the rest of a body the handler
 * left unread discarded (within a bound), so that a keep-alive connection goes on serving.
 * (`Readable.toWeb` starts consuming the request at once, after which Node no longer discards the
 * unread part itself, and the connection stalls in front of its next request.)
 */

/**
 * Most bytes of an unread request body discarded after the response, to keep the connection: a
 * longer body closes it instead (reading it all would let a client make the server read forever).
 */
const DISCARD_LIMIT_BYTES = 1024 * 1024;

/** After the response: reads the rest of the request body into nothing, or closes the connection. */
export function discardBody(req: IncomingMessage): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DISCARD_LIMIT_BYTES) {
    req.socket.destroy();
    return;
  }
  let discarded = 0;
  req.on('data', (chunk: Buffer | string) => {
    discarded += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (discarded > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * The request body as a web stream read on demand (nothing is read before the handler asks), which
 * `detach()` ends for the handler and gives the request back, so the listener can discard the rest.
 */
export function bodyStream(req: IncomingMessage, owner: { detach: () => void }): ReadableStream<Uint8Array> {
  let wake: (() => void) | undefined;
  let failure: unknown;
  let detached = false;
  const onEvent = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onError = (error: unknown): void => {
    failure ??= error;
    onEvent();
  };
  const listen = (): void => {
    req.on('readable', onEvent);
    req.on('end', onEvent);
    req.on('close', onEvent);
    req.on('error', onError);
  };
  const unlisten = (): void => {
    req.off('readable', onEvent);
    req.off('end', onEvent);
    req.off('close', onEvent);
    req.off('error', onError);
  };
  let listening = false;
  owner.detach = () => {
    if (detached) return;
    detached = true;
    if (listening) unlisten();
    // An error listener stays, so that a connection reset while discarding is not an uncaught error.
    req.on('error', () => {});
    onEvent();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!listening && !detached) {
          listening = true;
          listen();
        }
        for (;;) {
          if (detached) {
            controller.error(new Error('the response was already sent'));
            return;
          }
          if (failure !== undefined) {
            controller.error(failure);
            return;
          }
          const chunk = req.read() as Buffer | string | null;
          if (chunk !== null) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
            return;
          }
          if (req.readableEnded) {
            unlisten();
            controller.close();
            return;
          }
          if (req.destroyed) {
            controller.error(new Error('the request was aborted'));
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      cancel() {
        // The rest is discarded (or the connection closed) once the response is sent: destroying the
        // request now would close the connection before that response (a 413) is written.
        owner.detach();
      },
    },
    { highWaterMark: 0 },
  );
}
