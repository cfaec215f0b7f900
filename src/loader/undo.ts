// Rollback: each step that changed the system pushes how to undo itself;
// on failure the steps are undone newest first, and every undo runs even if
// an earlier one failed (what could not be undone is reported).
import { log } from '../log';

export class UndoStack {
  private steps: Array<{ what: string; undo: () => void }> = [];

  push(what: string, undo: () => void): void { this.steps.push({ what, undo }); }

  /** Undo everything; returns descriptions of undo steps that failed. */
  rollback(): string[] {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        step.undo();
        log.debug(`rolled back: ${step.what}`);
      } catch (e) {
        failed.push(`${step.what}: ${(e as Error).message}`);
      }
    }
    this.steps = [];
    return failed;
  }

  /** Forget the steps: the run succeeded. */
  commit(): void { this.steps = []; }
}
