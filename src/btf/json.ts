// JSON with exact 64-bit integers: bigint is written as bare digits, and on
// parsing any integer beyond 2^53 comes back as a bigint. JSON.parse would
// round those, which breaks comparisons with bpftool's u64 counters.

export type JsonValue =
  | null | boolean | number | bigint | string
  | JsonValue[] | { [key: string]: JsonValue };

/** Sets a key as own data even when it is "__proto__" (a valid C name). */
export function setKey(obj: { [key: string]: JsonValue }, key: string, v: JsonValue): void {
  Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
}

function scalar(v: null | boolean | number | bigint | string): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}

/** Like JSON.stringify(v, null, indent) but bigint prints as exact digits. */
export function stringifyJson(v: JsonValue, indent: number | string = 0): string {
  const unit = typeof indent === 'number' ? ' '.repeat(indent) : indent;
  const walk = (x: JsonValue, pad: string): string => {
    if (x === null || typeof x !== 'object') return scalar(x);
    const inner = pad + unit;
    const nl = unit ? '\n' : '';
    const parts = Array.isArray(x)
      ? x.map((e) => walk(e, inner))
      : Object.keys(x).map((k) => `${JSON.stringify(k)}:${unit ? ' ' : ''}${walk(x[k], inner)}`);
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    if (parts.length === 0) return open + close;
    return `${open}${nl}${inner}${parts.join(`,${nl}${inner}`)}${nl}${pad}${close}`;
  };
  return walk(v, '');
}

const ESCAPES: Record<string, string> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
  "'": "'", // not JSON, but bpftool 7.1 as released upstream writes \'
};

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y; // sticky: matches at lastIndex only

class Parser {
  private pos = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new Error(`JSON: ${what} at offset ${this.pos}`);
  }

  end(): void {
    this.ws();
    if (this.pos !== this.s.length) this.fail('trailing text');
  }

  ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos])) this.pos++;
  }

  eat(c: string): void {
    this.ws();
    if (this.s[this.pos] !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  value(): JsonValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end' : `unexpected '${c}'`);
  }

  private list<T>(close: string, item: () => T): T[] {
    const out: T[] = [];
    this.ws();
    if (this.s[this.pos] === close) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(item());
      this.ws();
      const c = this.s[this.pos++];
      if (c === close) return out;
      if (c !== ',') this.fail(`expected ',' or '${close}'`);
    }
  }

  private object(): JsonValue {
    this.eat('{');
    const obj: { [key: string]: JsonValue } = {};
    this.list('}', () => {
      this.ws();
      const key = this.string();
      this.eat(':');
      setKey(obj, key, this.value());
    });
    return obj;
  }

  private array(): JsonValue {
    this.eat('[');
    return this.list(']', () => this.value());
  }

  private string(): string {
    if (this.s[this.pos] !== '"') this.fail('expected a string');
    let out = '';
    for (this.pos++; ;) {
      const c = this.s[this.pos++];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      if (e === 'u') {
        const hex = this.s.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 4;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
      } else {
        this.fail(`bad escape '\\${e}'`);
      }
    }
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail('bad number');
    this.pos += m[0].length;
    if (m[2] || m[3]) return Number(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }
}

/** JSON.parse, except integers beyond 2^53 are exact bigints. */
export function parseJsonExact(text: string): JsonValue {
  const p = new Parser(text);
  const v = p.value();
  p.end();
  return v;
}
