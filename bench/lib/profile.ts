/**
 * `--profile`: uwrouter under `node --cpu-prof` for one scenario, then the .cpuprofile files
 * (JSON: a call tree of nodes, the sampled node ids and the µs between samples) read back
 * and each frame's self time summed. Frames are grouped: user code (the repository's src/ or
 * dist/), Node internals (`node:` URLs), packages (node_modules), native (no URL: V8
 * builtins, C++ bindings, `(program)`), GC (`(garbage collector)`); `(idle)` is left out of
 * the busy time. Every process of the router's tree writes its own profile (workers inherit
 * the flag); all are summed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/interop/harness/index.ts';
import { fmt, markdownTable } from './stats.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export type FrameGroup = 'user code' | 'Node internals' | 'packages' | 'native' | 'GC' | 'idle';

export function frameGroup(f: CallFrame, root = REPO_ROOT): FrameGroup {
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(idle)') return 'idle';
  if (f.url.startsWith('node:')) return 'Node internals';
  if (f.url.includes('/node_modules/')) return 'packages';
  const path = f.url.startsWith('file://') ? decodeURIComponent(f.url.slice(7)) : f.url;
  if (path.startsWith(join(root, 'src')) || path.startsWith(join(root, 'dist'))) return 'user code';
  if (f.url === '') return 'native';
  return 'packages';
}

export interface FrameTime {
  name: string;
  where: string;
  group: FrameGroup;
  /** self time, µs */
  selfUs: number;
}

/**
 * Self time per frame (function + script + line), summed over profiles: each sample is
 * charged the time until the next one (the last one the mean interval).
 */
export function selfTimes(profiles: readonly CpuProfile[], root = REPO_ROOT): FrameTime[] {
  const byKey = new Map<string, FrameTime>();
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const n = p.samples.length;
    const mean = n > 0 ? (p.endTime - p.startTime) / n : 0;
    for (let i = 0; i < n; i++) {
      const f = nodes.get(p.samples[i]!);
      if (!f) continue;
      const dt = i + 1 < n ? Math.max(0, p.timeDeltas[i + 1]!) : mean;
      const short = f.url.replace(`file://${root}/`, '').replace(/^.*\/node_modules\//, '');
      const where = f.url ? `${short}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName}\u0000${where}`;
      let t = byKey.get(key);
      if (!t) {
        t = { name: f.functionName || '(anonymous)', where, group: frameGroup(f, root), selfUs: 0 };
        byKey.set(key, t);
      }
      t.selfUs += dt;
    }
  }
  return [...byKey.values()].sort((a, b) => b.selfUs - a.selfUs);
}

export function readProfiles(dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
}

const GROUPS: readonly FrameGroup[] = ['user code', 'Node internals', 'packages', 'native', 'GC'];

/** The grouped totals (share of busy time) and the top `top` frames by self time, as markdown. */
export function profileReport(frames: readonly FrameTime[], top = 25): string {
  const busy = frames.filter((f) => f.group !== 'idle').reduce((n, f) => n + f.selfUs, 0);
  const idle = frames.filter((f) => f.group === 'idle').reduce((n, f) => n + f.selfUs, 0);
  const pct = (us: number) => (busy > 0 ? `${fmt((100 * us) / busy, 1)}%` : '—');
  const groups = markdownTable(
    ['group', 'self ms', 'of busy time'],
    GROUPS.map((g) => {
      const us = frames.filter((f) => f.group === g).reduce((n, f) => n + f.selfUs, 0);
      return [g, fmt(us / 1000, 0), pct(us)];
    }),
  );
  const rows = frames
    .filter((f) => f.group !== 'idle')
    .slice(0, top)
    .map((f) => [f.name, f.where || '—', f.group, fmt(f.selfUs / 1000, 1), pct(f.selfUs)]);
  return (
    `busy ${fmt(busy / 1000, 0)} ms, idle ${fmt(idle / 1000, 0)} ms\n\n${groups}\n\n` +
    `Top ${rows.length} frames by self time:\n\n${markdownTable(['frame', 'where', 'group', 'self ms', 'of busy'], rows)}`
  );
}
