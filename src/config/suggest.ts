/**
 * "did you mean" for unknown option names: the nearest name or alias by edit distance,
 * else the first name the unknown one is a prefix of. Only close matches are offered, so
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
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  if (u.length >= 4) {
    const byPrefix = candidates.filter((c) => c.startsWith(u)).sort((a, b) => a.length - b.length);
    if (byPrefix.length > 0) return byPrefix[0];
  }
  return undefined;
}
