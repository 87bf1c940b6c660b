import { describe, expect, it } from 'vitest';
import { RespScanner } from './resp-scanner.js';

/** Feeds `bytes` in pieces of the given sizes (cycled) and returns the absolute frame ends. */
function frameEnds(bytes: Buffer, pieceSizes: readonly number[]): Array<[number, string]> {
  const scanner = new RespScanner();
  const ends: Array<[number, string]> = [];
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = pieceSizes[i++ % pieceSizes.length] ?? 1;
    const chunk = bytes.subarray(offset, offset + size);
    for (const frame of scanner.feed(chunk)) ends.push([offset + frame.end, frame.kind]);
    offset += chunk.length;
  }
  expect(scanner.atBoundary).toBe(true);
  return ends;
}

const replies = [
  '+OK\r\n',
  '-ERR wrong\r\n',
  ':201\r\n',
  '$5\r\nhe\r\nl\r\n', // a bulk string containing CRLF
  '$-1\r\n',
  '$0\r\n\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n',
  '%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n',
  '_\r\n',
  ',1.5\r\n',
  '#t\r\n',
  '(12345678901234567890\r\n',
  '=7\r\ntxt:abc\r\n',
  '~2\r\n:1\r\n:2\r\n',
];

describe('RespScanner', () => {
  const stream = Buffer.from(replies.join(''));
  const expected: Array<[number, string]> = [];
  let total = 0;
  for (const reply of replies) {
    total += Buffer.byteLength(reply);
    expected.push([total, 'reply']);
  }

  it.each([[[stream.length]], [[1]], [[2]], [[3, 7]], [[13, 1, 5]]])(
    'finds every reply boundary whatever the chunking (%j)',
    (sizes) => {
      expect(frameEnds(stream, sizes)).toEqual(expected);
    },
  );

  it('is not at a boundary in the middle of a reply', () => {
    const scanner = new RespScanner();
    expect(scanner.feed(Buffer.from('*2\r\n:1\r\n'))).toEqual([]);
    expect(scanner.atBoundary).toBe(false);
    expect(scanner.feed(Buffer.from(':2\r\n+OK'))).toEqual([{ end: 4, kind: 'reply' }]);
    expect(scanner.atBoundary).toBe(false);
  });

  it('treats an attribute as part of the next frame and marks pushes', () => {
    const bytes = Buffer.from('|1\r\n+ttl\r\n:3\r\n:42\r\n>2\r\n+message\r\n+hi\r\n');
    expect(frameEnds(bytes, [1])).toEqual([
      [19, 'reply'],
      [bytes.length, 'push'],
    ]);
  });

  it('rejects a stream that is not RESP', () => {
    expect(() => new RespScanner().feed(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(/Not a RESP stream/);
  });
});
