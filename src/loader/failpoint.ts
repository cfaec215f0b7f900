// Test hook: with L2BPF_FAILPOINT=<name>, attach fails at that step, so the
// end-to-end tests can prove that every step is rolled back. Inert otherwise.
export function failpoint(name: string): void {
  if (process.env.L2BPF_FAILPOINT === name) throw new Error(`failpoint ${name} hit`);
}
