import { useEffect, useState, type FormEvent } from 'react';
import { AdminTokenPanel, TokenDashboard, TokenWidget } from 'token-limits/react';

interface User {
  id: string;
  name: string;
  admin: boolean;
}

type Locale = 'en' | 'pt-BR';

const TEXT = {
  en: { title: 'token-limits example', signIn: 'Sign in as', signOut: 'Sign out', signedIn: 'Signed in as', chat: 'Chat', send: 'Send', model: 'Model', language: 'Language', placeholder: 'Ask something…', pick: 'Sign in to see your usage.' },
  'pt-BR': { title: 'Exemplo do token-limits', signIn: 'Entrar como', signOut: 'Sair', signedIn: 'Conectado como', chat: 'Chat', send: 'Enviar', model: 'Modelo', language: 'Idioma', placeholder: 'Pergunte algo…', pick: 'Entre para ver seu uso.' },
} as const;

const API = '/admin/api';

function initialLocale(): Locale {
  return new URLSearchParams(window.location.search).get('lang') === 'pt-BR' ? 'pt-BR' : 'en';
}

/** The example page: sign-in stub, a chat box, and the three widgets over the app's admin API. */
export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [locale, setLocale] = useState<Locale>(initialLocale);
  const [message, setMessage] = useState('');
  const [model, setModel] = useState('gpt-4o-mini');
  const [reply, setReply] = useState<{ status: 'ok' | 'error'; text: string; http: number } | null>(null);
  const [calls, setCalls] = useState(0);
  const t = TEXT[locale];

  useEffect(() => {
    void fetch('/me')
      .then((r) => r.json() as Promise<{ user: User | null }>)
      .then((b) => setUser(b.user));
  }, []);

  useEffect(() => {
    document.documentElement.lang = locale;
    const url = new URL(window.location.href);
    url.searchParams.set('lang', locale);
    window.history.replaceState(null, '', url);
  }, [locale]);

  const signIn = async (id: string) => {
    await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: id }) });
    const me = (await (await fetch('/me')).json()) as { user: User | null };
    setReply(null);
    setUser(me.user);
  };
  const signOut = async () => {
    await fetch('/logout', { method: 'POST' });
    setUser(null);
  };
  const send = async (event: FormEvent) => {
    event.preventDefault();
    const res = await fetch('/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, model }) });
    const body = (await res.json()) as { reply?: string; error?: string };
    setReply(res.ok ? { status: 'ok', text: body.reply ?? '', http: res.status } : { status: 'error', text: body.error ?? `HTTP ${res.status}`, http: res.status });
    setCalls((n) => n + 1); // refreshes the widgets at once
  };

  return (
    <div className="page">
      <header>
        <h1>{t.title}</h1>
        <label>
          {t.language}{' '}
          <select id="locale" value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
            <option value="en">English</option>
            <option value="pt-BR">Português (Brasil)</option>
          </select>
        </label>
        {user ? (
          <span>
            {t.signedIn} <strong id="current-user">{user.id}</strong>{' '}
            <button type="button" onClick={() => void signOut()}>
              {t.signOut}
            </button>
          </span>
        ) : null}
        <span>
          {t.signIn}{' '}
          {['alice', 'bob', 'root'].map((id) => (
            <button key={id} type="button" data-login={id} onClick={() => void signIn(id)}>
              {id}
            </button>
          ))}
        </span>
      </header>

      {user === null ? <p>{t.pick}</p> : null}
      {user ? (
        <>
          <div className="grid">
            <div className="stack">
              <div id="widget">
                <TokenWidget baseUrl={API} locale={locale} refreshIntervalMs={5_000} refreshKey={`${user.id}|${calls}`} />
              </div>
              <section className="chat" aria-labelledby="chat-title">
                <h2 id="chat-title">{t.chat}</h2>
                <form onSubmit={(e) => void send(e)}>
                  <textarea id="message" aria-label={t.chat} placeholder={t.placeholder} value={message} onChange={(e) => setMessage(e.target.value)} />
                  <div className="row">
                    <label>
                      {t.model}{' '}
                      <select id="model" value={model} onChange={(e) => setModel(e.target.value)}>
                        <option value="gpt-4o-mini">gpt-4o-mini</option>
                        <option value="gpt-4o">gpt-4o</option>
                      </select>
                    </label>
                    <button id="send" type="submit">
                      {t.send}
                    </button>
                  </div>
                </form>
                {reply ? (
                  <p id="reply" className="reply" data-status={reply.status} data-http={reply.http} role="status">
                    {reply.text}
                  </p>
                ) : null}
              </section>
            </div>
            <div id="dashboard">
              <TokenDashboard baseUrl={API} locale={locale} refreshIntervalMs={5_000} refreshKey={`${user.id}|${calls}`} />
            </div>
          </div>
          {user.admin ? (
            <div id="admin">
              <AdminTokenPanel baseUrl={API} locale={locale} refreshIntervalMs={10_000} refreshKey={calls} />
            </div>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
