/**
 * "did you mean" for unknown option names: the nearest name or alias by edit distance,
 * else the nearest name by prefix (truncated or over-long). Only close matches are offered, so
 * a wild guess never points the operator at an unrelated option.
 */

/** Levenshtein distance, stopping early once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate to `unknown`, or undefined when nothing is close enough. */
export function nearestName(unknown: string, candidates: readonly string[]): string | undefined {
  const u = unknown.toLowerCase();
  if (u.length === 0) return undefined;
  // Roughly one typo per four characters, at least one and at most three.
  const limit = Math.min(3, Math.max(1, Math.floor(u.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(u, c, limit);
    // On a tie prefer a name the typed one begins (`fastrouter-time` → `-timeout`, not `-to`).
    const tieWonByPrefix = d === bestDistance && best !== undefined && c.startsWith(u) && !best.startsWith(u);
    if (d < bestDistance || tieWonByPrefix) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  if (u.length >= 4) {
    // a truncated name (`fastrouter-time`): the shortest name it begins
    const longer = candidates.filter((c) => c.startsWith(u)).sort((a, b) => a.length - b.length);
    if (longer.length > 0) return longer[0];
    // an over-long name (`subscription-algorithm`): the longest name that begins it
    const shorter = candidates
      .filter((c) => c.length >= 4 && u.startsWith(c))
      .sort((a, b) => b.length - a.length);
    if (shorter.length > 0) return shorter[0];
  }
  return undefined;
}
