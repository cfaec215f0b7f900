// Little-endian bit-level reads and writes shared by the formatters and
// sumValues. BigInt throughout so 64-bit (and 128-bit) values stay exact.

/** Bytes needed to hold `bits` bits that start `bitOff` bits in. */
function spanBytes(bitOff: number, bits: number): number {
  return Math.ceil((bitOff + bits) / 8);
}

function needBytes(buf: Buffer, byteOff: number, len: number): void {
  if (byteOff < 0 || byteOff + len > buf.length) {
    throw new Error(`BTF value: need ${len} bytes at offset ${byteOff}, buffer has ${buf.length}`);
  }
}

/** Unsigned value of `bits` bits starting `bitOff` bits after buf[byteOff]. */
export function readBits(buf: Buffer, byteOff: number, bitOff: number, bits: number): bigint {
  const len = spanBytes(bitOff, bits);
  needBytes(buf, byteOff, len);
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[byteOff + i]);
  return (v >> BigInt(bitOff)) & ((1n << BigInt(bits)) - 1n);
}

/** Stores the low `bits` bits of v there, leaving neighbouring bits alone. */
export function writeBits(buf: Buffer, byteOff: number, bitOff: number, bits: number, v: bigint): void {
  const len = spanBytes(bitOff, bits);
  needBytes(buf, byteOff, len);
  let word = 0n;
  for (let i = len - 1; i >= 0; i--) word = (word << 8n) | BigInt(buf[byteOff + i]);
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(bitOff);
  word = (word & ~mask) | ((v << BigInt(bitOff)) & mask);
  for (let i = 0; i < len; i++) {
    buf[byteOff + i] = Number(word & 0xffn);
    word >>= 8n;
  }
}

/** Little-endian integer of `size` bytes (1..16), signed or not. */
export function readInt(buf: Buffer, byteOff: number, size: number, signed: boolean): bigint {
  const v = readBits(buf, byteOff, 0, size * 8);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

/** Plain number when it is exact, else the bigint. */
export function toJsInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
