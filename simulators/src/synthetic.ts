/**
 * Synthetic people only. A resident ID number (GB 11643) ends with an ISO 7064 MOD 11-2 check
 * character; these numbers carry a deliberately WRONG one, so no generated number can be a
 * real person's, while the masking, length and format checks still see a well-formed number.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function idCardCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** An 18-character number with area `areaCode`, birth date and sequence, and a wrong check. */
export function syntheticIdCardNo(areaCode: string, birth: string, sequence: number): string {
  const first17 = `${areaCode}${birth.replace(/-/g, '')}${String(sequence % 1000).padStart(3, '0')}`;
  if (!/^\d{17}$/.test(first17)) throw new Error(`bad synthetic id parts: ${first17}`);
  const valid = idCardCheckChar(first17);
  const wrong = CHECK[(CHECK.indexOf(valid) + 1) % CHECK.length]!;
  return `${first17}${wrong}`;
}

export const isRealCheckDigit = (id: string): boolean =>
  id.length === 18 && idCardCheckChar(id.slice(0, 17)) === id[17];
