// ConfigError: every config problem ends up as one of these, with a one-line
// message "<file>:<line>:<col>: <field>: <what is wrong>" so that editors and
// terminals can jump to the spot. Parts that are unknown are left out.

export interface ConfigErrorInfo {
  /** Config file path as given by the user, or 'command line' for flags. */
  file?: string;
  /** 1-based; only set when the problem has a place in a file. */
  line?: number;
  column?: number;
  /** Field path such as `ports[1]` or `tunnels.pop1.remote`. */
  field?: string;
}

export class ConfigError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
  /** The bare description, without location and field. */
  readonly detail: string;

  constructor(info: ConfigErrorInfo, detail: string) {
    super(formatConfigMessage(info, detail));
    this.name = 'ConfigError';
    this.file = info.file;
    this.line = info.line;
    this.column = info.column;
    this.field = info.field;
    this.detail = detail;
  }
}

export function formatConfigMessage(info: ConfigErrorInfo, detail: string): string {
  const parts: string[] = [];
  if (info.file !== undefined) {
    parts.push(info.line !== undefined ? `${info.file}:${info.line}:${info.column ?? 1}` : info.file);
  }
  if (info.field !== undefined) parts.push(info.field);
  // Keep it one line whatever the underlying library said.
  parts.push(detail.replace(/\s*\n\s*/g, ' ').trim());
  return parts.join(': ');
}
