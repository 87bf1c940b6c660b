import { WindowPlanner } from '../../src/engine/planner.js';
import { PlanBook } from '../../src/engine/plans.js';
import { normalizeRules } from '../../src/engine/rules.js';
import type { LimitRule } from '../../src/index.js';
import type { RuleSpec } from '../../src/stores/protocol/types.js';

/** The rule specs the engine would send a store for users on `rules` (no anchor) at `now`. */
export function specsOf(rules: LimitRule[], now: number): RuleSpec[] {
  const planner = new WindowPlanner(normalizeRules(rules), () => now, 10, new PlanBook(async () => []));
  return planner.specs(planner.userConfig('u'));
}

/** The `user` part of a store command for a user on their own with `rules` at config `version`. */
export function userScope(rules: LimitRule[], now: number, version = 0): { home: null; user: { configVersion: number; rules: RuleSpec[] } } {
  return { home: null, user: { configVersion: version, rules: specsOf(rules, now) } };
}
