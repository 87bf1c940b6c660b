/**
 * The provider emulator in a process of its own (plain node, from the built `dist/`), so that its
 * work does not run on the event loop of the processes that make the calls being timed. Started with
 * `fork()`: it sends `{ urls }` once listening, then answers IPC messages:
 * - `{ cmd: 'arrivals' }` → `{ arrivals: number[] }`: when each request since the last `arrivals`
 *   reached the server (headers parsed), in ms since the epoch at sub-ms resolution
 *   (`performance.timeOrigin + performance.now()`, comparable across processes of one machine);
 * - `{ cmd: 'close' }` stops the server and exits.
 * Recorded requests are cleared at every message so the emulator's memory does not grow.
 */
import { subscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { startEmulator } from 'token-limits/testing';

let arrivals = [];
subscribe('http.server.request.start', () => {
  arrivals.push(performance.timeOrigin + performance.now());
});

const emulator = await startEmulator();
process.on('message', async (message) => {
  emulator.clearRequests();
  if (message.cmd === 'arrivals') {
    process.send({ arrivals });
    arrivals = [];
  } else if (message.cmd === 'close') {
    await emulator.close();
    process.send({ ok: true }, () => process.exit(0));
  }
});
process.send({ urls: { openaiBaseURL: emulator.openaiBaseURL, anthropicBaseURL: emulator.anthropicBaseURL, googleBaseUrl: emulator.googleBaseUrl } });
