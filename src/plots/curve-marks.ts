/**
 * The marks of the learning-curve plot that depend on the order points
 * arrived in: which line segment a point belongs to (a PBT receiver starts a
 * new segment where it took the donor's weights), the latest point of each
 * trial (drawn as a dot, so a trial with a single report is visible), and the
 * lineage connectors (donor's point at the checkpoint it gave → the
 * receiver's first point after the exploit).
 *
 * Pure and dependency-free: the kernel's static spec (learning-curves.ts)
 * and the live widget's browser module (widgets/frontend/liveplot.js, bundled
 * by esbuild) both run this code, so the live plot and its SVG fallback draw
 * the same marks.
 */

export interface MarkPoint {
  trialId: string;
  t: number;
  value: number;
}

export interface ExploitMark {
  /** the receiver */
  trialId: string;
  /** the receiver's t when it exploited */
  t: number;
  donor: string;
  /** the donor's t whose checkpoint was copied (default: t) */
  donorT?: number;
  /**
   * how many points (of the whole series, in arrival order) existed when the
   * exploit happened: the receiver's later points are its continuation.
   * Without it, the continuation starts after the receiver's point at `t`.
   */
  index?: number;
}

/** One dashed connector: from the donor's point to the receiver's continuation. */
export interface LineageRow {
  trialId: string;
  donor: string;
  t: number;
  value: number;
  t2: number;
  value2: number;
}

/** One exploit marker, drawn at the donor's point whose checkpoint the receiver took. */
export interface ExploitRow {
  trialId: string;
  donor: string;
  /** where it is drawn: the donor's t and value */
  t: number;
  value: number;
  /** the receiver's t when it exploited */
  exploitT: number;
}

/** Where each exploit splits its receiver's series (a position in `points`; Infinity = not yet known). */
export function exploitPositions(points: readonly MarkPoint[], exploits: readonly ExploitMark[]): number[] {
  const lastPos = new Map<string, number>();
  return exploits.map((e) => {
    let pos = Infinity;
    if (typeof e.index === "number" && Number.isFinite(e.index)) pos = e.index;
    else {
      const after = lastPos.get(e.trialId) ?? 0;
      for (let i = after; i < points.length; i++) {
        if (points[i].trialId === e.trialId && points[i].t === e.t) {
          pos = i + 1;
          break;
        }
      }
    }
    if (Number.isFinite(pos)) lastPos.set(e.trialId, pos);
    return pos;
  });
}

/** Per point: its line's id, `<trialId>#<k>` where k counts the trial's exploits before it. */
export function segmentIds(points: readonly MarkPoint[], exploits: readonly ExploitMark[], positions = exploitPositions(points, exploits)): string[] {
  const splits = new Map<string, number[]>();
  exploits.forEach((e, k) => {
    if (!Number.isFinite(positions[k])) return;
    const list = splits.get(e.trialId) ?? [];
    list.push(positions[k]);
    splits.set(e.trialId, list);
  });
  return points.map((p, i) => {
    const list = splits.get(p.trialId);
    let k = 0;
    if (list) for (const pos of list) if (pos <= i) k++;
    return `${p.trialId}#${k}`;
  });
}

/** Per trial: the position of its latest point (arrival order), in first-seen trial order. */
export function latestIndex(points: readonly MarkPoint[]): Map<string, number> {
  const out = new Map<string, number>();
  points.forEach((p, i) => out.set(p.trialId, i));
  return out;
}

function donorIndex(points: readonly MarkPoint[], e: ExploitMark, pos: number): number {
  const dt = e.donorT ?? e.t;
  let found = -1;
  const end = Math.min(points.length, Number.isFinite(pos) ? pos : points.length);
  // the donor's latest point at donorT before the exploit (a donor may itself have re-trained that t)
  for (let i = 0; i < end; i++) if (points[i].trialId === e.donor && points[i].t === dt) found = i;
  if (found < 0) for (let i = 0; i < points.length; i++) if (points[i].trialId === e.donor && points[i].t === dt) found = i;
  return found;
}

/** Exploit markers (at the donor's point) and connectors (to the receiver's first point after the exploit). */
export function lineageMarks(points: readonly MarkPoint[], exploits: readonly ExploitMark[], positions = exploitPositions(points, exploits)): { exploits: ExploitRow[]; lineage: LineageRow[] } {
  const marks: ExploitRow[] = [];
  const lineage: LineageRow[] = [];
  exploits.forEach((e, k) => {
    const d = donorIndex(points, e, positions[k]);
    if (d < 0) return;
    const from = points[d];
    marks.push({ trialId: e.trialId, donor: e.donor, t: from.t, value: from.value, exploitT: e.t });
    const pos = positions[k];
    if (!Number.isFinite(pos)) return;
    for (let i = pos; i < points.length; i++) {
      if (points[i].trialId !== e.trialId) continue;
      lineage.push({ trialId: e.trialId, donor: e.donor, t: from.t, value: from.value, t2: points[i].t, value2: points[i].value });
      break;
    }
  });
  return { exploits: marks, lineage };
}
