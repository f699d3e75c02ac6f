import type { ZoneRules } from '@ccm/contracts';
import type { Evidence, StoredFix } from '../state';
import { GNSS } from '../state';

/** First qualifying fix plus the most recent ones: enough to show, bounded to persist. */
export const EVIDENCE_KEEP = 10;

/**
 * Adds a qualifying fix to the evidence for a status change. Evidence whose last fix is
 * older than `maxGapMs` is stale: two drifted fixes hours apart must not add up to "90 s
 * of evidence".
 */
export function extendEvidence(prev: Evidence | null, fix: StoredFix, maxGapMs: number): Evidence {
  const [fixTimeMs, , , , source, receivedAtMs] = fix;
  const gnss = source === GNSS ? 1 : 0;
  if (!prev || fixTimeMs - prev.lastMs > maxGapMs) {
    return {
      fixes: [fix],
      count: 1,
      gnssCount: gnss,
      firstMs: fixTimeMs,
      lastMs: fixTimeMs,
      maxReceivedAtMs: receivedAtMs,
    };
  }
  const [first, , ...rest] = prev.fixes;
  const fixes =
    prev.fixes.length < EVIDENCE_KEEP || !first ? [...prev.fixes, fix] : [first, ...rest, fix];
  return {
    fixes,
    count: prev.count + 1,
    gnssCount: prev.gnssCount + gnss,
    firstMs: prev.firstMs,
    lastMs: fixTimeMs,
    maxReceivedAtMs: Math.max(prev.maxReceivedAtMs, receivedAtMs),
  };
}

/**
 * N consecutive qualifying fixes, or at least `minFixesForTime` of them spanning
 * `confirmSeconds` (0 turns the time rule off). Opening a violation also needs a GNSS fix
 * among them: LBS/Wi-Fi alone never confirm. Ending does not, or a subject back home indoors
 * on Wi-Fi could never end a curfew alert; the accuracy margin already guards that side.
 */
export function isConfirmed(
  evidence: Evidence,
  rules: ZoneRules,
  minFixesForTime: number,
  requireGnss: boolean,
): boolean {
  if (requireGnss && evidence.gnssCount === 0) return false;
  if (evidence.count >= rules.confirmFixes) return true;
  return (
    rules.confirmSeconds > 0 &&
    evidence.count >= minFixesForTime &&
    evidence.lastMs - evidence.firstMs >= rules.confirmSeconds * 1000
  );
}
