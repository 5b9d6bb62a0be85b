// How often two labellings of the same pairs agree: better, safer (pairs one side calls a tie left out) and is_safe per response.
import type { PreferenceRecord, ResponseId } from '../data/record.js';

/** Labels of one pair as compared here; `null` = a tie (e.g. equal gold scores). */
export interface ComparableLabels {
  better: ResponseId | null;
  safer: ResponseId | null;
  isSafe?: readonly [boolean, boolean] | undefined;
}

export interface Agreement {
  pairs: number;
  better: number;
  safer: number;
  isSafe: number;
}

/** The labels of a record in comparable form. */
export function comparable(r: PreferenceRecord): ComparableLabels {
  return { better: r.betterResponseId, safer: r.saferResponseId ?? null, isSafe: r.isSafe };
}

/** Share of agreement per label over `pairs` (null when there are none). */
export function agreement(pairs: readonly (readonly [ComparableLabels, ComparableLabels])[]): Agreement | null {
  if (!pairs.length) return null;
  const n = { better: 0, betterOf: 0, safer: 0, saferOf: 0, isSafe: 0, isSafeOf: 0 };
  for (const [a, b] of pairs) {
    if (a.better !== null && b.better !== null) {
      n.betterOf++;
      n.better += Number(a.better === b.better);
    }
    if (a.safer !== null && b.safer !== null) {
      n.saferOf++;
      n.safer += Number(a.safer === b.safer);
    }
    if (a.isSafe && b.isSafe) {
      n.isSafeOf++;
      n.isSafe += (Number(a.isSafe[0] === b.isSafe[0]) + Number(a.isSafe[1] === b.isSafe[1])) / 2;
    }
  }
  return { pairs: pairs.length, better: n.better / Math.max(1, n.betterOf), safer: n.safer / Math.max(1, n.saferOf), isSafe: n.isSafe / Math.max(1, n.isSafeOf) };
}
