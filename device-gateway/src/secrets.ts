import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device MQTT secrets. A secret is 32 random bytes (base64url, 43 characters), shown once at
 * registration. At rest it is stored in Mosquitto's own password-file format
 * (`$7$<iterations>$<salt b64>$<pbkdf2-sha512 b64>`), so the same hash serves the embedded
 * broker, the HTTP auth endpoint for EMQX, and a generated Mosquitto password file. A
 * 256-bit random secret cannot be guessed, so the hash needs no slow stretching: Mosquitto's
 * default of 101 iterations keeps a reconnect storm of 50,000 devices cheap.
 */
const ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

export const generateDeviceSecret = (): string => randomBytes(32).toString('base64url');

export function hashDeviceSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(secret, salt, ITERATIONS, HASH_BYTES, 'sha512');
  return `$7$${ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyDeviceSecret(stored: string, secret: string): boolean {
  const parts = stored.split('$');
  // ['', '7', iterations, salt, hash]
  if (parts.length !== 5 || parts[1] !== '7') return false;
  const iterations = Number(parts[2]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) return false;
  const salt = Buffer.from(parts[3]!, 'base64');
  const expected = Buffer.from(parts[4]!, 'base64');
  if (expected.length === 0) return false;
  const actual = pbkdf2Sync(secret, salt, iterations, expected.length, 'sha512');
  return timingSafeEqual(actual, expected);
}
