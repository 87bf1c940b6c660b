/** A framework-neutral HTTP answer: every integration writes one of these with its own API. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, or `undefined` for no body (204). */
  body: unknown;
  /** A body sent as it is produced (a ledger export), instead of `body`. */
  stream?: AsyncIterable<string | Uint8Array>;
}

/** A streamed text reply (CSV, JSON lines). A failure mid-stream aborts the connection, so a cut file is never taken for a whole one. */
export function streamReply(status: number, stream: AsyncIterable<string | Uint8Array>, headers: Record<string, string>): HttpReply {
  return { status, headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers }, body: undefined, stream };
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body };
}

export function emptyReply(status: number, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'cache-control': 'no-store', ...headers }, body: undefined };
}

/** The body text of a reply (`undefined` when it has none). */
export function replyText(reply: HttpReply): string | undefined {
  return reply.body === undefined ? undefined : JSON.stringify(reply.body);
}

/** A Fetch API `Response` for a reply. */
export function toResponse(reply: HttpReply): Response {
  if (reply.stream !== undefined) {
    const iterator = reply.stream[Symbol.asyncIterator]();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(typeof value === 'string' ? encoder.encode(value) : value);
      },
      async cancel() {
        await iterator.return?.();
      },
    });
    return new Response(body, { status: reply.status, headers: reply.headers });
  }
  return new Response(replyText(reply) ?? null, { status: reply.status, headers: reply.headers });
}

/**
 * Writes a reply on a `node:http` response (Express responses included). Writes nothing when the
 * response was already answered (a timeout middleware that gave up on the request, a handler that
 * answered first): writing then would throw `ERR_HTTP_HEADERS_SENT` from a callback of ours.
 */
export function writeReply(res: import('node:http').ServerResponse, reply: HttpReply): void {
  if (res.headersSent || res.writableEnded) {
    if (reply.stream !== undefined) void closeUnread(reply.stream);
    return;
  }
  const text = replyText(reply);
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.stream !== undefined) {
    void pipeStream(res, reply.stream);
    return;
  }
  if (text === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Lets a stream that will never be read release what it holds. */
async function closeUnread(stream: AsyncIterable<string | Uint8Array>): Promise<void> {
  try {
    await stream[Symbol.asyncIterator]().return?.();
  } catch {
    // Nothing was read from it and nobody waits for it: there is no one to tell.
  }
}

async function pipeStream(res: import('node:http').ServerResponse, stream: AsyncIterable<string | Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  } catch (error) {
    res.destroy(error instanceof Error ? error : undefined);
  }
}

/** Resolves when `res` can take more (`drain`), or is closed (nothing more will be written). */
export function drained(res: import('node:http').ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    // Closed already: neither event will come again.
    if (res.destroyed) {
      resolve();
      return;
    }
    const go = (): void => {
      res.off('drain', go);
      res.off('close', go);
      resolve();
    };
    res.on('drain', go);
    res.on('close', go);
  });
}
