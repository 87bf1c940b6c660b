import type { Express, NextFunction, Request, Response } from 'express';
import express5 from 'express';
import express4 from 'express-v4';
import { tokenLimits, tokenLimitsErrorHandler, type TokenLimitsOptions } from '../../src/integrations/express/index.js';
import type { TokenLimiter } from '../../src/index.js';
import { chargeFromContext, sleep } from './helpers.js';

export const expressVersions = [
  { name: 'Express 5', express: express5 },
  { name: 'Express 4', express: express4 },
] as const;

export type ExpressFactory = typeof express5;

/** Session tokens of the login stub. */
export const SESSIONS: Record<string, string> = { 'tok-alice': 'alice', 'tok-bob': 'bob', 'tok-carol': 'carol', 'tok-odd': 'ü/ser:1 ✓' };

export interface AppOptions {
  limiter: TokenLimiter;
  /** Mount the two token-limits lines (false: the app as it was before). */
  wired?: boolean;
  middleware?: Partial<TokenLimitsOptions>;
  errorHandler?: { locale?: string };
}

export type AppRequest = Request & { user?: { id: string } };

/**
 * An "existing" app: a login stub (`x-session` header -> req.user), JSON routes, a route that
 * fails with the app's own error, the app's own error handler, and a chat route that charges the
 * user through the request context.
 */
export function buildApp(express: ExpressFactory, options: AppOptions): Express {
  const { limiter, wired = true } = options;
  const app = express();
  app.use((req: AppRequest, _res: Response, next: NextFunction) => {
    const token = req.headers['x-session'];
    const id = typeof token === 'string' ? SESSIONS[token] : undefined;
    if (id !== undefined) req.user = { id };
    next();
  });
  if (wired) app.use(tokenLimits<AppRequest>({ getUserId: (req) => req.user?.id, limiter, ...options.middleware }));
  // The body parser is mounted after the middleware on purpose: its callbacks run from socket events.
  app.use(express.json());

  app.get('/health', (_req, res) => {
    res.set('x-app', 'yes').cookie('seen', '1').json({ ok: true });
  });
  app.get('/text', (_req, res) => {
    res.status(202).type('text/plain').send('hello');
  });
  app.post('/echo', (req, res) => {
    res.status(201).json({ got: req.body as unknown });
  });
  app.get('/boom', () => {
    throw new Error('app failure');
  });
  app.get('/boom-async', async (_req: Request, _res: Response, next: NextFunction) => {
    await sleep(1);
    next(new Error('async app failure'));
  });
  app.post('/chat', async (req: AppRequest, res: Response, next: NextFunction) => {
    try {
      const body = req.body as { tokens?: number; delayMs?: number };
      const result = await chargeFromContext(body.tokens ?? 10, undefined, body.delayMs ?? 0);
      res.json({ ...result, sessionUser: req.user?.id ?? null });
    } catch (error) {
      next(error); // Express 4 needs this; Express 5 would also catch a rejected promise
    }
  });
  // Reads its body with stream events (as multipart parsers do): they are emitted from the socket.
  app.post('/chat-raw', (req: AppRequest, res: Response, next: NextFunction) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const body = JSON.parse(text) as { tokens: number };
      chargeFromContext(body.tokens).then((result) => res.json({ ...result, sessionUser: req.user?.id ?? null }), next);
    });
  });
  if (wired) app.use(tokenLimitsErrorHandler(options.errorHandler));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ appHandler: true, name: err.name, message: err.message });
  });
  return app;
}
