import { WindowPlanner } from '../../src/engine/planner.js';
import { normalizeRules } from '../../src/engine/rules.js';
import type { LimitRule } from '../../src/index.js';
import type { RuleSpec } from '../../src/stores/protocol/types.js';

/** The rule specs the engine would send a store for users on `rules` (no anchor) at `now`. */
export function specsOf(rules: LimitRule[], now: number): RuleSpec[] {
  const planner = new WindowPlanner(normalizeRules(rules), () => now, 10);
  return planner.specs(planner.userConfig('u'));
}
