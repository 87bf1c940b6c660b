import { useId, useState, type FormEvent } from 'react';
import { formatMessage } from '../../i18n/format.js';
import type { MessageKey } from '../../i18n/messages.js';
import { TokenLimitsApiError, type LimitRuleJson, type UserUsageJson } from '../api.js';
import { errorText, formatPeriod, metricOfRule, type Metric } from '../format.js';
import { Modal } from './modal.js';
import { busyButton, usePendingAction } from './pending-action.js';

const CALENDAR = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;
const METRICS: readonly Metric[] = ['tokens', 'requests', 'costUsd'];

interface RuleDraft {
  id: string;
  metric: Metric;
  amount: string;
  /** A calendar period, or the rule's own `{ days | months }` period kept as it is. */
  period: LimitRuleJson['period'];
  timeZone: string | undefined;
  /** The rule's model and provider filters, kept as they are. */
  models: string[] | undefined;
  providers: LimitRuleJson['providers'];
}

export interface EditLimitsDialogProps {
  /** Whose rules: a user's usage, or an account's (its id as `userId`). */
  user: Pick<UserUsageJson, 'userId' | 'windows'>;
  locale: string;
  /** Sends the rules (`null`: back to the defaults); rejects with the API's error. */
  onSave: (rules: LimitRuleJson[] | null) => Promise<void>;
  onClose: () => void;
  /** The heading. @default "Limits of {user}" */
  title?: string | undefined;
  /** The label of the button that sends `null`. @default "Use the default limits" */
  clearLabel?: string | undefined;
}

/** Why an amount is refused, or undefined. Upper bounds are the API's to check (its 400 is shown). */
export function validateAmount(text: string, metric: Metric): MessageKey | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return 'validation.required';
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) return 'validation.number';
  if (metric !== 'costUsd' && !Number.isInteger(value)) return 'validation.integer';
  return undefined;
}

/** `rules[1].tokens` -> 1: which rule an API error names. */
function ruleIndexOf(field: string | undefined): number | undefined {
  const m = field === undefined ? null : /^rules\[(\d+)\]/.exec(field);
  return m ? Number(m[1]) : undefined;
}

/**
 * Edits a user's rules (their amount, unit and calendar period; rule ids and custom periods are
 * kept): validates each amount, sends `PUT /users/:id/limits`, and shows the API's 400 (`error`,
 * `field`, `detail`) beside the field it names.
 */
export function EditLimitsDialog({ user, locale, onSave, onClose, title, clearLabel }: EditLimitsDialogProps) {
  const formId = useId();
  const apiErrorId = `${formId}-api-error`;
  const [drafts, setDrafts] = useState<RuleDraft[]>(() =>
    user.windows.length === 0
      ? // An account with no rules of its own: start one monthly rule.
        [{ id: 'monthly', metric: 'tokens', amount: '', period: 'month', timeZone: undefined, models: undefined, providers: undefined }]
      : user.windows.map((w) => ({
          id: w.ruleId,
          metric: metricOfRule(w.rule),
          amount: String(w.limit),
          period: w.rule.period,
          timeZone: w.rule.timeZone,
          models: w.rule.models,
          providers: w.rule.providers,
        })),
  );
  const [errors, setErrors] = useState<Record<number, MessageKey>>({});
  const { busy, error: apiError, run } = usePendingAction();
  const t = (key: MessageKey, params: Record<string, string | number> = {}) => formatMessage(locale, key, params);
  const apiIndex = apiError instanceof TokenLimitsApiError ? ruleIndexOf(apiError.field) : undefined;

  const update = (index: number, patch: Partial<RuleDraft>) => {
    setDrafts((ds) => ds.map((d, i) => (i === index ? { ...d, ...patch } : d)));
    setErrors((es) => {
      const { [index]: _removed, ...rest } = es;
      return rest;
    });
  };

  const save = (rules: LimitRuleJson[] | null) => run(() => onSave(rules));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    const found: Record<number, MessageKey> = {};
    drafts.forEach((d, i) => {
      const problem = validateAmount(d.amount, d.metric);
      if (problem) found[i] = problem;
    });
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const firstBad = document.getElementById(`${formId}-amount-${Object.keys(found)[0]}`);
      firstBad?.focus();
      return;
    }
    save(
      drafts.map((d) => {
        const rule: LimitRuleJson = { id: d.id, period: d.period, [d.metric]: Number(d.amount.trim()) };
        if (d.timeZone !== undefined) rule.timeZone = d.timeZone;
        if (d.models !== undefined) rule.models = d.models;
        if (d.providers !== undefined) rule.providers = d.providers;
        return rule;
      }),
    );
  };

  return (
    <Modal role="dialog" title={title ?? t('admin.edit.title', { user: user.userId })} onClose={onClose} className="tl-edit" busy={busy}>
      <form className="tl-form" noValidate onSubmit={submit} aria-busy={busy}>
        {drafts.map((d, i) => {
          const amountId = `${formId}-amount-${i}`;
          const messageId = `${amountId}-message`;
          const clientError = errors[i];
          const serverError = apiIndex === i ? apiError : undefined;
          const invalid = clientError !== undefined || serverError !== undefined;
          return (
            <fieldset key={d.id} className="tl-form__rule">
              <legend>{t('admin.edit.rule', { id: d.id })}</legend>
              <div className="tl-form__row">
                <label htmlFor={amountId}>{t('admin.edit.amount')}</label>
                <input
                  id={amountId}
                  name={`rules[${i}].amount`}
                  type="number"
                  inputMode="decimal"
                  min={0}
                  step={d.metric === 'costUsd' ? 'any' : 1}
                  value={d.amount}
                  onChange={(e) => update(i, { amount: e.target.value })}
                  aria-invalid={invalid}
                  aria-describedby={clientError !== undefined ? messageId : serverError !== undefined ? apiErrorId : undefined}
                />
              </div>
              <div className="tl-form__row">
                <label htmlFor={`${formId}-metric-${i}`}>{t('admin.edit.unit')}</label>
                <select id={`${formId}-metric-${i}`} value={d.metric} onChange={(e) => update(i, { metric: e.target.value as Metric })}>
                  {METRICS.map((m) => (
                    <option key={m} value={m}>
                      {t(`unit.${m}`)}
                    </option>
                  ))}
                </select>
              </div>
              <div className="tl-form__row">
                <label htmlFor={`${formId}-period-${i}`}>{t('admin.edit.period')}</label>
                {typeof d.period === 'string' ? (
                  <select id={`${formId}-period-${i}`} value={d.period} onChange={(e) => update(i, { period: e.target.value as (typeof CALENDAR)[number] })}>
                    {CALENDAR.map((p) => (
                      <option key={p} value={p}>
                        {formatPeriod(locale, p)}
                      </option>
                    ))}
                  </select>
                ) : (
                  <output id={`${formId}-period-${i}`}>{formatPeriod(locale, d.period)}</output>
                )}
              </div>
              {clientError !== undefined ? (
                <p id={messageId} className="tl-form__error">
                  {t(clientError)}
                </p>
              ) : null}
            </fieldset>
          );
        })}
        {apiError !== undefined ? (
          <div id={apiErrorId} className="tl-form__error tl-form__error--api" role="alert">
            <p>{errorText(locale, apiError)}</p>
            {apiError instanceof TokenLimitsApiError && apiError.detail !== undefined ? <p className="tl-form__detail">{apiError.detail}</p> : null}
          </div>
        ) : null}
        <div className="tl-modal__actions">
          <button type="button" className="tl-button tl-button--link" {...busyButton(busy, () => save(null))}>
            {clearLabel ?? t('admin.edit.useDefaults')}
          </button>
          {/* Once saving, the rules are sent: Cancel could no longer take them back. */}
          <button type="button" className="tl-button" {...busyButton(busy, onClose)}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="tl-button tl-button--primary" aria-disabled={busy}>
            {t('admin.edit.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
