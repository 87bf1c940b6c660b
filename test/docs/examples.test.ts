import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Every script of examples/ (README and the package point new users at them: `npx tsx
 * examples/openai-quickstart.ts`) runs as a user runs it: its own Node process with tsx, from the
 * repository root (so `token-limits` resolves to src/ through tsconfig paths), with no API key, so
 * that each starts the bundled provider emulator. Each must exit 0, write nothing to stderr, and
 * print what its comments say it shows. examples/express-app/ is run by test/integrations/ and
 * test/e2e/.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** What each script prints when it works, line by line (each pattern must match a line). */
const expected: Record<string, RegExp[]> = {
  'quickstart.ts': [
    /^alert: alice passed 80% of "monthly" \(8200\/10000\)$/,
    /^charged 8200 tokens to alice$/,
    /^refused by "monthly": 8200\/10000 used, resets \d{4}-\d\d-01T00:00:00\.000Z$/,
    /^alice: 8200\/10000 used, 1800 left, period /,
  ],
  'openai-quickstart.ts': [
    /^reply: Emulated reply to "Say hello in Portuguese\."\.$/,
    /^streamed: Emulated reply to "Count to five\."\.$/,
    /^charged \d+ in \+ \d+ out \(chat\.completions, gpt-4o-mini, \$0\.\d+\)$/,
    /^refused before any request: it needed \d+ tokens, \d+ left of 2000, resets /,
    // The refused call never reached the provider: the two calls before it did.
    /^requests the provider saw: 2$/,
  ],
  'anthropic.ts': [
    /^reply: Emulated reply to "Olá! Como vai\?"\.$/,
    /^streamed: Emulated reply to "Resuma em uma frase\."\.$/,
    /^maria spent \$0\.0\d+ of \$0\.5 today \(resets \d{4}-\d\d-\d\dT03:00:00\.000Z\)$/,
  ],
  'google-genai.ts': [
    /^emulator at http:\/\/127\.0\.0\.1:\d+$/,
    /^ {2}\[charged alice: \d+ in \+ \d+ out, streamGenerateContent\]$/,
    /^Emulated answer using the tool result: /,
    /^refused by "daily": \d+\/20000 used, \d+ requested$/,
    /^alice: \d+ tokens used, 0 held$/,
  ],
  'google-generative-ai.ts': [
    /^emulator at http:\/\/127\.0\.0\.1:\d+$/,
    /^countTokens: \d+$/,
    /^refused by "daily": \d+\/20000 used, \d+ requested$/,
    /^alice: \d+ tokens used, 0 held$/,
  ],
  'ai-sdk.ts': [
    /^openai: Emulated reply to "Say hello in Portuguese\."\.$/,
    /^anthropic, streamed: Emulated reply to "Count to five\."\.$/,
    /^tool loop: 2 steps, answer: /,
    /^refused before any request: \d+ tokens left of 3000$/,
    /^charged \d+ in \+ 0 out \(openai openai\.embedding, text-embedding-3-small, \$0\)$/,
    /^requests the provider saw: 5$/,
  ],
};

/** The environment of a user with no API key: every example must then use the emulator. */
function keylessEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AZURE)_/.test(name)) delete env[name];
  }
  return env;
}

describe('examples/ scripts', () => {
  it('every script of examples/ is run here', () => {
    const scripts = readdirSync(new URL('../../examples/', import.meta.url), { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => e.name)
      .sort();
    expect(scripts).toEqual(Object.keys(expected).sort());
  });

  for (const [script, lines] of Object.entries(expected)) {
    it(`examples/${script} runs against the emulator and prints what it says`, async () => {
      const result = await run(process.execPath, ['--import', 'tsx', `examples/${script}`], { cwd: root, env: keylessEnv(), timeout: 90_000 }).catch(
        (error: { stderr?: string; stdout?: string; message: string }) => {
          throw new Error(`examples/${script} failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}\n${error.message}`);
        },
      );
      expect(result.stderr).toBe('');
      const printed = result.stdout.split('\n');
      for (const line of lines) expect(printed.some((p) => line.test(p)), `examples/${script} printed no line matching ${line}:\n${result.stdout}`).toBe(true);
      if (script === 'openai-quickstart.ts') {
        // As its comment says: with no maximum, the call holds gpt-4o-mini's maximum output (16,384) and its input.
        const needed = Number(/it needed (\d+) tokens/.exec(result.stdout)?.[1]);
        expect(needed).toBeGreaterThan(16_384);
        expect(needed).toBeLessThan(16_384 + 100);
      }
    }, 120_000);
  }
});
