/**
 * A bench run's plan: wrk scenarios and other sections, started, then measured in one set of
 * alternating rounds (every wrk topology, handshake client and transfer in turn), then the
 * sections measured alone; printed, compared, and written as JSON.
 */
import { alternate, type RoundUnit, reportFailures, type WrkSettings, wrkUnit } from './rounds.ts';
import { printWrkScenario, startTopology, topologiesOf, topologyJson, type WrkScenario } from './scenario.ts';
import { type Comparison, type Section, wrkComparisons } from './summary.ts';

export interface Plan {
  scenarios: WrkScenario[];
  sections: Section[];
}

export function asPlan(p: WrkScenario[] | Partial<Plan>): Plan {
  return Array.isArray(p)
    ? { scenarios: p, sections: [] }
    : { scenarios: p.scenarios ?? [], sections: p.sections ?? [] };
}

export interface PlanRunOptions {
  rounds: number;
  wrk: WrkSettings;
  /** the warm-up run's length (s) */
  warmSeconds?: number;
  log: (line: string) => void;
}

/** Starts everything, runs the alternating rounds, then each section's own run. */
export async function runPlan(plan: Plan, opts: PlanRunOptions): Promise<void> {
  const topologies = topologiesOf(plan.scenarios);
  for (const t of topologies) await startTopology(t);
  for (const s of plan.sections) await s.start?.();
  const units: RoundUnit[] = [
    ...topologies.map((t) => wrkUnit(t, opts.wrk, opts.warmSeconds)),
    ...plan.sections.flatMap((s) => s.units?.() ?? []),
  ];
  await alternate(units, opts);
  for (const s of plan.sections) {
    if (!s.run) continue;
    opts.log(`${s.id}: measuring`);
    await s.run();
  }
}

export function printPlan(plan: Plan, head: string): void {
  for (const s of plan.scenarios) printWrkScenario(s, head);
  for (const s of plan.sections) s.print();
}

export function planComparisons(plan: Plan): Comparison[] {
  return [...plan.scenarios.flatMap(wrkComparisons), ...plan.sections.flatMap((s) => s.comparisons())];
}

/** Prints what failed or was skipped; the exit code (1 when something failed). */
export function reportPlanFailures(plan: Plan): number {
  return reportFailures(
    [...topologiesOf(plan.scenarios), ...plan.sections.flatMap((s) => s.items())],
    (t) => t.label,
  );
}

export function planJson(plan: Plan): Record<string, unknown> {
  return {
    topologies: topologiesOf(plan.scenarios).map(topologyJson),
    scenarios: plan.scenarios.map((s) => ({
      id: s.id,
      title: s.title,
      topologies: s.topologies.map((t) => t.id),
    })),
    sections: Object.fromEntries(plan.sections.map((s) => [s.id, s.json()])),
    comparisons: planComparisons(plan),
  };
}
