import { describe, expect, it } from 'vitest';
import { TokenLimitExceededError } from '../../src/index.js';

const refusal = (fields: Partial<ConstructorParameters<typeof TokenLimitExceededError>[0]>) =>
  new TokenLimitExceededError({
    userId: 'u',
    ruleId: 'budget',
    metric: 'costUsd',
    limit: 0.3,
    used: 0.25,
    reserved: 0,
    requested: 0.06,
    resetAt: new Date('2026-05-02T00:00:00Z'),
    ...fields,
  });

describe('TokenLimitExceededError message', () => {
  it("says what a cost rule has left in whole micro-dollars, without floating-point noise", () => {
    // 0.3 - 0.25 is 0.04999999999999999 in floating point.
    expect(refusal({}).message).toContain('0.05 are left (limit 0.3, used 0.25, reserved 0)');
    expect(refusal({ used: 0.1, reserved: 0.2, limit: 0.7 }).message).toContain('0.4 are left');
    expect(refusal({ used: 0.5 }).message).toContain(', 0 are left');
  });

  it('subtracts token figures as they are', () => {
    expect(refusal({ metric: 'tokens', limit: 5000, used: 4990, reserved: 5, requested: 100 }).message).toContain('5 are left (limit 5000, used 4990, reserved 5)');
  });
});
