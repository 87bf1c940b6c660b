import { chargeWindow, crossedThresholds, type HeldShare } from '../protocol/charge.js';
import type { Amounts, CommitAlert, RuleSpec, StoreMetric, StoredConfig, WindowState } from '../protocol/types.js';
import { pickWindow, type PickedWindow } from '../protocol/window.js';

/**
 * The quota state of one scope in MemoryStore (a user, or an account): its configuration, the
 * current window of each rule, and the holds made on them. Users add their log, history and
 * outcomes (memory-store.ts).
 */

export interface RuleWindow {
  fingerprint: string;
  start: number;
  end: number;
  used: number;
  held: number;
  /** Bit k set: alert threshold k fired in this window. */
  alerts: number;
}

export class ScopeState {
  version = 0;
  /**
   * The version a fresh scope of this id starts at: above every version a deleted user's config
   * had (see MemoryData.retiredVersions), so that no process takes the new config for one it holds.
   */
  baseVersion = 0;
  rules: string | null = null;
  anchor: number | null = null;
  plan: string | null = null;
  active = true;
  readonly windows = new Map<string, RuleWindow>();
  /** Live holds by reservation id: when they stop counting, and their shares. */
  readonly holds = new Map<string, { expiresAt: number; shares: HeldShare[] }>();

  config(): StoredConfig {
    return { version: this.version, rules: this.rules, anchor: this.anchor, plan: this.plan };
  }

  /** The window each rule is in now, or the time to recompute boundaries around. */
  pick(rules: readonly RuleSpec[], now: number): PickedWindow[] | { at: number } {
    const out: PickedWindow[] = [];
    for (const spec of rules) {
      const picked = pickWindow(spec, now, this.windows.get(spec.ruleId));
      if ('at' in picked) return picked;
      out.push(picked);
    }
    return out;
  }

  /** Each rule's current window, starting the ones that rolled over. */
  roll(rules: readonly RuleSpec[], picked: readonly PickedWindow[]): RuleWindow[] {
    return rules.map((spec, i) => {
      const p = picked[i]!;
      let w = this.windows.get(spec.ruleId);
      if (!w || p.rollover) {
        w = { fingerprint: spec.fingerprint, start: p.start, end: p.end, used: 0, held: 0, alerts: 0 };
        this.windows.set(spec.ruleId, w);
      }
      return w;
    });
  }

  /** The index of the first rule the amounts do not fit, or -1. */
  refusing(rules: readonly RuleSpec[], windows: readonly RuleWindow[], amounts: Amounts): number {
    return rules.findIndex((spec, i) => windows[i]!.used + windows[i]!.held + amountOf(amounts, spec.metric) > spec.limit);
  }

  hold(id: string, rules: readonly RuleSpec[], windows: readonly RuleWindow[], amounts: Amounts, expiresAt: number): void {
    const shares = rules.map((spec, i): HeldShare => {
      const amount = amountOf(amounts, spec.metric);
      windows[i]!.held += amount;
      return { ruleId: spec.ruleId, fingerprint: spec.fingerprint, start: windows[i]!.start, amount };
    });
    this.holds.set(id, { expiresAt, shares });
  }

  /**
   * Applies a commit to this scope (see `chargeWindow`): rules the hold covers, and rules the call
   * matches (`matches[i]`); returns the alerts fired.
   */
  charge(
    id: string,
    rules: readonly RuleSpec[],
    picked: readonly PickedWindow[],
    matches: readonly boolean[],
    actual: Amounts,
    costUnknown: boolean,
    thresholds: readonly number[],
    scope: 'user' | 'account',
    now: number,
  ): CommitAlert[] {
    // A hold whose lease ended counts for nothing, as a purge would have left it, whether or not one
    // ran: its amounts leave the windows they were held in, and the usage is charged in full.
    // Kept, a window that rolled over since was charged only the part beyond it.
    if ((this.holds.get(id)?.expiresAt ?? Number.POSITIVE_INFINITY) <= now) this.dropHold(id);
    const shares = new Map((this.holds.get(id)?.shares ?? []).map((s) => [s.ruleId, s]));
    // The held amounts leave the windows in chargeWindow, rule by rule.
    this.holds.delete(id);
    const alerts: CommitAlert[] = [];
    rules.forEach((spec, i) => {
      const share = shares.get(spec.ruleId);
      if (!share && !matches[i]) return;
      const p = picked[i]!;
      const amount = costUnknown && spec.metric === 'cost' ? (share?.amount ?? 0) : amountOf(actual, spec.metric);
      const counters = chargeWindow(spec, p, this.windows.get(spec.ruleId) ?? { used: 0, held: 0 }, share, amount);
      const w = this.roll([spec], [p])[0]!;
      w.used = counters.used;
      w.held = counters.held;
      for (const k of crossedThresholds(w.used, spec.limit, thresholds, w.alerts)) {
        w.alerts |= 2 ** k;
        alerts.push({ scope, ruleId: spec.ruleId, threshold: k, used: w.used, limit: spec.limit, start: w.start, end: w.end });
      }
    });
    // Shares on rules no longer in force (a plan edited or assigned, a rule removed since the
    // reserve) leave the windows they were held in, as a release's do: nothing else would take
    // them off before their window ends.
    for (const share of shares.values()) {
      if (rules.some((spec) => spec.ruleId === share.ruleId)) continue;
      const w = this.windows.get(share.ruleId);
      if (w && w.fingerprint === share.fingerprint && w.start === share.start) w.held = Math.max(0, w.held - share.amount);
    }
    return alerts;
  }

  dropHold(id: string): void {
    const hold = this.holds.get(id);
    if (!hold) return;
    this.holds.delete(id);
    for (const s of hold.shares) {
      const w = this.windows.get(s.ruleId);
      if (w && w.fingerprint === s.fingerprint && w.start === s.start) w.held = Math.max(0, w.held - s.amount);
    }
  }

  /** Moves a live hold's expiry to no sooner than `expiresAt`; false when there is none (or its lease ended). */
  renewHold(id: string, now: number, expiresAt: number): boolean {
    const hold = this.holds.get(id);
    if (!hold || hold.expiresAt <= now) return false;
    hold.expiresAt = Math.max(hold.expiresAt, expiresAt);
    return true;
  }

  /** Drops holds whose lease ended. */
  purge(now: number): void {
    for (const [id, hold] of this.holds) if (hold.expiresAt <= now) this.dropHold(id);
  }

  /** The windows as a read sees them: rolled-over ones at zero, expired holds not counted. */
  view(rules: readonly RuleSpec[], picked: readonly PickedWindow[], now: number): WindowState[] {
    return rules.map((spec, i) => {
      const p = picked[i]!;
      const w = this.windows.get(spec.ruleId);
      if (p.rollover || !w) return { start: p.start, end: p.end, used: 0, held: 0 };
      let held = w.held;
      for (const hold of this.holds.values()) {
        if (hold.expiresAt > now) continue;
        for (const s of hold.shares) if (s.ruleId === spec.ruleId && s.fingerprint === w.fingerprint && s.start === w.start) held -= s.amount;
      }
      return { start: w.start, end: w.end, used: w.used, held: Math.max(0, held) };
    });
  }

  /** Nothing here that a fresh scope would not have. */
  isIdle(now: number): boolean {
    if (this.version !== this.baseVersion || !this.active || this.plan !== null || this.holds.size > 0) return false;
    for (const w of this.windows.values()) if (w.end > now && (w.used > 0 || w.held > 0)) return false;
    return true;
  }
}

export function windowView(w: RuleWindow): WindowState {
  return { start: w.start, end: w.end, used: w.used, held: w.held };
}

export function amountOf(amounts: Amounts, metric: StoreMetric): number {
  return metric === 'tokens' ? amounts.tokens : metric === 'requests' ? amounts.requests : amounts.cost;
}
