/**
 * An authenticator app, for the tests: RFC 6238 codes (SHA-1, 6 digits, 30-second steps)
 * from the base32 key the account page shows, computed with Node's own HMAC so that the
 * server's implementation is checked against an independent one.
 */
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const index = ALPHABET.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The 30-second step a moment falls in. */
export function stepNow(): number {
  return Math.floor(Date.now() / 1000 / 30);
}

/** The code the app shows during `step`. */
export function totpCode(key: string, step: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(key)).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1_000_000).padStart(6, '0');
}

/**
 * A code the server has not seen yet: each step's code works once, so after `lastStep` was
 * used the next one (within the server's one-step clock allowance) or the current one.
 */
export function freshCode(key: string, lastStep: number): { code: string; step: number } {
  const step = Math.max(stepNow(), lastStep + 1);
  return { code: totpCode(key, step), step };
}
