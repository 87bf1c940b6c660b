/**
 * Shared set-up of the emulator tests: one emulator per test file, requests and knobs reset
 * before each test.
 */

import { afterAll, beforeAll, beforeEach } from 'vitest';

import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/testing/index.js';

/** Start an emulator for the current test file; the getter is valid inside tests. */
export function useEmulator(options?: EmulatorOptions): () => Emulator {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator(options);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(() => {
    emulator?.reset();
  });
  return () => {
    if (emulator === undefined) throw new Error('emulator not started');
    return emulator;
  };
}

/** Collect an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Decode an OpenAI base64 embedding (little-endian float32). */
export function decodeFloat32(base64: string): number[] {
  const buffer = Buffer.from(base64, 'base64');
  return Array.from({ length: buffer.length / 4 }, (_, i) => buffer.readFloatLE(i * 4));
}
