/**
 * An "existing" Express app: a cookie login stub, a chat route that calls OpenAI, its own error
 * handler. token-limits is wired in with two lines (marked) plus the admin API under /admin/api.
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type OpenAI from 'openai';
import type { TokenLimiter } from 'token-limits';
import { createAdminRouter, tokenLimits, tokenLimitsErrorHandler } from 'token-limits/express';

interface User {
  id: string;
  name: string;
  admin: boolean;
}

/** The app's requests carry the signed-in user (as passport and session middleware do). */
type AppRequest = Request & { user?: User };

/** Models a chat may ask for (the page offers both, so the charts have two series). */
export const CHAT_MODELS = ['gpt-4o-mini', 'gpt-4o'] as const;

/** The app's users (a database in a real app). */
export const USERS: Record<string, User> = {
  alice: { id: 'alice', name: 'Alice', admin: false },
  bob: { id: 'bob', name: 'Bob', admin: false },
  root: { id: 'root', name: 'Admin', admin: true },
};

export interface AppOptions {
  /** A client wrapped once at start-up: `withTokenLimits(new OpenAI())`, no user. */
  openai: OpenAI;
  /** The limiter whose admin functions /admin/api exposes. */
  limiter: TokenLimiter;
  model?: string;
  /** A folder of static files to serve at `/` (the page built from `web/`). */
  staticDir?: string;
}

export function createApp({ openai, limiter, model = 'gpt-4o-mini', staticDir }: AppOptions): express.Express {
  const app = express();
  const sessions = new Map<string, string>();

  // The app's own authentication: a session cookie -> req.user.
  app.use((req: AppRequest, _res: Response, next: NextFunction) => {
    const sid = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
    const userId = sid === undefined ? undefined : sessions.get(sid);
    const user = userId === undefined ? undefined : USERS[userId];
    if (user !== undefined) req.user = user;
    next();
  });

  if (staticDir !== undefined) app.use(express.static(staticDir));

  app.use(tokenLimits({ getUserId: (req: AppRequest) => req.user?.id })); // token-limits, line 1 of 2
  app.use(express.json());

  app.post('/login', (req, res) => {
    const user = USERS[String((req.body as { user?: unknown } | undefined)?.user)];
    if (!user) {
      res.status(401).json({ error: 'unknown user' });
      return;
    }
    const sid = randomBytes(16).toString('base64url');
    sessions.set(sid, user.id);
    res.cookie('sid', sid, { httpOnly: true, sameSite: 'lax' }).json({ user: user.id });
  });

  app.post('/logout', (req, res) => {
    const sid = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (sid !== undefined) sessions.delete(sid);
    res.clearCookie('sid').json({ user: null });
  });

  app.get('/me', (req: AppRequest, res: Response) => {
    res.json({ user: req.user ?? null });
  });

  app.post('/chat', async (req: AppRequest, res: Response, next: NextFunction) => {
    if (!req.user) {
      res.status(401).json({ error: 'sign in first' });
      return;
    }
    try {
      const body = req.body as { message?: string; model?: string };
      const chosen = (CHAT_MODELS as readonly string[]).includes(String(body.model)) ? String(body.model) : model;
      const completion = await openai.chat.completions.create({
        model: chosen,
        messages: [{ role: 'user', content: String(body.message ?? '') }],
        max_completion_tokens: 200,
      });
      res.json({ reply: completion.choices[0]?.message.content ?? '', usage: completion.usage });
    } catch (error) {
      next(error); // Express 5 would also forward a rejected promise by itself
    }
  });

  // The admin API, for the app's admins; signed-in users may read their own usage (/admin/api/me/*).
  app.use(
    '/admin/api',
    createAdminRouter({
      limiter,
      authorize: (req: AppRequest) => (req.user?.admin ? { role: 'admin', userId: req.user.id } : req.user ? { role: 'user', userId: req.user.id } : null),
    }),
  );

  app.use(tokenLimitsErrorHandler()); // token-limits, line 2 of 2: 429 / 403 / 503

  // The app's own error handler still gets every other error.
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: 'something went wrong', name: error.name });
  });
  return app;
}
