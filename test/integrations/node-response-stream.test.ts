import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { toNodeListener } from '../../src/integrations/http/index.js';
import { listen, sleep } from './helpers.js';

/** Reads the first chunk of the response, then closes the connection (a user who left the page). */
function readFirstChunkAndLeave(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: '/' }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.setTimeout(5000, () => reject(new Error('no first chunk')));
    req.end();
  });
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}

describe('toNodeListener: a client that leaves during a streamed response', () => {
  const sources = {
    'a chunk every 30 ms': (): Promise<void> => sleep(30),
    'a first chunk, then nothing for a long time': (() => {
      let calls = 0;
      return (): Promise<void> => (calls++ === 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, 60_000).unref()));
    })(),
  };

  for (const [name, beforeChunk] of Object.entries(sources)) {
    it(`cancels the response body, so its source stops (${name})`, async () => {
      let cancelled = false;
      let pulls = 0;
      const app = await listen(
        toNodeListener(
          () =>
            new Response(
              new ReadableStream<Uint8Array>(
                {
                  async pull(controller) {
                    pulls += 1;
                    await beforeChunk();
                    if (!cancelled) controller.enqueue(new TextEncoder().encode('data: token\n\n'));
                  },
                  cancel() {
                    cancelled = true;
                  },
                },
                { highWaterMark: 0 },
              ),
              { headers: { 'content-type': 'text/event-stream' } },
            ),
        ),
      );
      try {
        await readFirstChunkAndLeave(app.url);
        expect(await waitFor(() => cancelled, 1500)).toBe(true);
        const pullsAtCancel = pulls;
        await sleep(150);
        expect(pulls).toBe(pullsAtCancel);
      } finally {
        await app.close();
      }
    });
  }
});
