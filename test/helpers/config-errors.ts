// The one-line message a config text gets refused with (or a failure when
// it is accepted), for the config error tables.
import { ConfigError, parseConfig } from '../../src/config';

export function messageOf(text: string, file = 'l2bpf.yaml', parse: (text: string, file: string) => unknown = parseConfig): string {
  try {
    parse(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
