/**
 * FIFO: no early stopping (Ray's FIFOScheduler). Used by the grid and random
 * methods: every trial runs to max_t, and there are no decision points.
 */
import type { Report } from "../backends/types";
import { assertKind, cont } from "./common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";

export class FifoScheduler implements Scheduler {
  readonly kind = "fifo";
  onTrialAdd(_trial: SchedulerTrial): void {}
  onResult(trialId: string, _report: Report): SchedulerAction[] {
    return [cont(trialId)];
  }
  onTrialComplete(_trialId: string, _last: Report | null): SchedulerAction[] {
    return [];
  }
  onTrialError(_trialId: string): SchedulerAction[] {
    return [];
  }
  decisionPoints(_trialId: string): number[] {
    return [];
  }
  wantsNewTrial(): boolean {
    return true;
  }
  chooseTrialToResume(paused: string[]): string | null {
    return paused[0] ?? null;
  }
  getState(): unknown {
    return { kind: "fifo" };
  }
  setState(state: unknown): void {
    assertKind(state, "fifo");
  }
}
