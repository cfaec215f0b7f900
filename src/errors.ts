// Typed errors. The CLI prints `message` as one line (plus a hint when there
// is a next step) and maps the class to an exit code.

/** Something the user asked for cannot be done as asked (bad argument, state). */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) { super(message); this.name = 'UsageError'; }
}

/** A libbpf or bpf() call failed. `log` holds libbpf's output for that call
 * (for a rejected program: the verifier log). */
export class BpfError extends Error {
  constructor(readonly op: string, readonly errno: number, readonly reason: string, readonly log?: string[]) {
    super(`${op}: ${reason}`);
    this.name = 'BpfError';
  }
}

/** A step of attach/detach failed after others succeeded (rolled back). */
export class AttachError extends Error {
  constructor(message: string, readonly cause?: unknown) { super(message); this.name = 'AttachError'; }
}
