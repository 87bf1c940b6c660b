import { describe, expect, it } from 'vitest';
import {
  en,
  formatCurrency,
  formatMessage,
  formatPercent,
  formatPlural,
  locales,
  messages,
  negotiateLocale,
  parseLocale,
  ptBR,
  resolveLocale,
  type MessageKey,
} from '../../src/integrations/http/index.js';

describe('message catalogue', () => {
  it('every locale has every key, and nothing else', () => {
    for (const locale of locales) {
      expect(Object.keys(messages[locale]).sort(), locale).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(messages[locale])) expect(text.trim(), `${locale} ${key}`).not.toBe('');
    }
    // Placeholders match between translations.
    const names = (t: string) => [...t.matchAll(/\{(\w+)/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en) as MessageKey[]) expect(names(ptBR[key]), key).toEqual(names(en[key]));
  });

  it('formats numbers, currency and dates for the locale', () => {
    expect(formatMessage('en', 'usage.used', { used: 1500, limit: 100000, unit: 'tokens' })).toBe('1,500 of 100,000 tokens used');
    expect(formatMessage('pt-BR', 'usage.used', { used: 1500, limit: 100000, unit: 'tokens' })).toBe('1.500 de 100.000 tokens usados');
    expect(formatMessage('en', 'usage.resetsOn', { resetDate: new Date('2026-06-01T00:00:00Z') })).toBe('Resets on Jun 1, 2026');
    expect(formatMessage('pt-BR', 'usage.resetsOn', { resetDate: new Date('2026-06-01T00:00:00Z') })).toBe('Renova em 1 de jun. de 2026');
    expect(formatMessage('en', 'usage.resetsOn', { resetDate: new Date('2026-06-01T00:00:00Z') }, { timeZone: 'America/Sao_Paulo' })).toBe(
      'Resets on May 31, 2026',
    );
    expect(formatMessage('en', 'usage.remainingCost', { remaining: 2.5 })).toBe('$2.50 left');
    expect(formatMessage('pt-BR', 'usage.remainingCost', { remaining: 2.5 })).toMatch(/^US\$\s2,50 restantes$/);
    expect(formatPlural('pt-BR', 'usage.remainingCost', 1, { remaining: 1 })).toMatch(/^US\$\s1,00 restante$/);
    // "restante" agrees in number in Portuguese; English has one form.
    expect(formatPlural('pt-BR', 'usage.remaining', 1, { remaining: '1 token' })).toBe('1 token restante');
    expect(formatPlural('pt-BR', 'usage.remaining', 2, { remaining: '2 tokens' })).toBe('2 tokens restantes');
    expect(formatPlural('pt-BR', 'usage.remaining', 0, { remaining: '0 tokens' })).toBe('0 tokens restantes');
    expect(formatPlural('en', 'usage.remaining', 1, { remaining: '1 token' })).toBe('1 token left');
    expect(formatCurrency('en', 0.000125)).toBe('$0.000125');
    expect(formatMessage('pt-BR', 'limitExceeded.tokens')).toBe('Limite de tokens excedido');
    expect(formatMessage('en', 'invalidArgument', {})).toBe('Invalid value for "{field}"'); // a missing parameter stays visible
  });

  it('unknown locales fall back at run time and are refused in options', () => {
    expect(resolveLocale('pt')).toBe('pt-BR');
    expect(resolveLocale('pt-PT')).toBe('pt-BR');
    expect(resolveLocale('PT_br')).toBe('pt-BR');
    expect(resolveLocale('en-GB')).toBe('en');
    expect(resolveLocale('fr')).toBe('en');
    expect(resolveLocale(undefined)).toBe('en');
    expect(formatMessage('fr-FR', 'notFound')).toBe('Not found');
    expect(parseLocale('pt-br', 'locale')).toBe('pt-BR');
    expect(parseLocale('pt', 'locale')).toBe('pt-BR');
    expect(() => parseLocale('pt-XX', 'options.locale')).toThrow(/options\.locale/);
    expect(() => parseLocale('fr', 'options.locale')).toThrow(/expected one of en, pt-BR/);
    expect(() => parseLocale(42, 'options.locale')).toThrow(/options\.locale/);
  });

  it('negotiates Accept-Language by q-value', () => {
    expect(negotiateLocale('pt-BR,pt;q=0.9,en;q=0.8')).toBe('pt-BR');
    expect(negotiateLocale('fr-CH, fr;q=0.9, en;q=0.8, pt;q=0.7')).toBe('en');
    expect(negotiateLocale('fr-CH, fr;q=0.9, pt;q=0.8, en;q=0.7')).toBe('pt-BR');
    expect(negotiateLocale('en;q=0, pt-BR;q=0.1')).toBe('pt-BR');
    // The parameter name is case-insensitive: `Q=0` refuses the language as `q=0` does.
    expect(negotiateLocale('pt-BR;Q=0, en')).toBe('en');
    expect(negotiateLocale('pt-BR;Q=0.1, en;q=0.5')).toBe('en');
    expect(negotiateLocale('en;Q=0.2, pt-BR; Q=0.4')).toBe('pt-BR');
    expect(negotiateLocale('de')).toBe('en');
    expect(negotiateLocale(null)).toBe('en');
  });

  it('drops a language range whose weight is not a qvalue, rather than ranking it first', () => {
    // Four decimals, a weight above 1, an empty weight: none is a qvalue (RFC 9110, section 12.4.2).
    expect(negotiateLocale('en;q=0.001, pt-BR;q=0.0001')).toBe('en');
    expect(negotiateLocale('en;q=0.5, pt-BR;q=1.5')).toBe('en');
    expect(negotiateLocale('en;q=0.5, pt-BR;q=')).toBe('en');
    expect(negotiateLocale('en;q=0.5, pt-BR;q=abc')).toBe('en');
    // The weights that are qvalues still rank.
    expect(negotiateLocale('en;q=0.5, pt-BR;q=1.000')).toBe('pt-BR');
    expect(negotiateLocale('en;q=0.001, pt-BR;q=0.002')).toBe('pt-BR');
    expect(negotiateLocale('en;q=0.5, pt-BR;q=1.')).toBe('pt-BR');
    // Every range malformed: the default.
    expect(negotiateLocale('pt-BR;q=2')).toBe('en');
  });

  it('plural forms follow Intl.PluralRules (zero takes the plural), and every .one has its .other', () => {
    const resetDate = new Date('2026-06-01T00:00:00Z');
    expect(formatPlural('en', 'widget.renews', 1, { resetDate })).toBe('Renews in 1 day (Jun 1, 2026)');
    expect(formatPlural('en', 'widget.renews', 12, { resetDate })).toBe('Renews in 12 days (Jun 1, 2026)');
    expect(formatPlural('pt-BR', 'widget.renews', 12, { resetDate })).toBe('Renova em 12 dias (1 de jun. de 2026)');
    expect(formatPlural('pt-BR', 'amount.requests', 0, { value: '0' })).toBe('0 requisições');
    expect(formatPlural('pt-BR', 'amount.requests', 1, { value: '1' })).toBe('1 requisição');
    expect(formatPlural('en', 'amount.requests', 0, { value: '0' })).toBe('0 requests');
    expect(formatPlural('pt-BR', 'admin.stats.knownUsers', 1500, { count: '1.500' })).toBe('de 1.500 usuários conhecidos');
    expect(formatPercent('en', 0.854)).toBe('85%');
    expect(formatPercent('pt-BR', 1)).toBe('100%');
    for (const key of Object.keys(en)) {
      if (key.endsWith('.one')) expect(Object.keys(en), key).toContain(key.replace(/\.one$/, '.other'));
    }
  });
});
