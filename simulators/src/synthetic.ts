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

/**
 * Synthetic names: a common surname (Guangxi's own among them: 韦, 覃, 莫, 蒙, 农, 陆) and a
 * given name from a small list. Any match with a real person is a coincidence the data set
 * never relies on: ID numbers carry a wrong check digit and addresses name no real building.
 */
export const SURNAMES: readonly string[] =
  '王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 梁 韦 覃 莫 蒙 农 陆 廖 谭 卢 邓'.split(
    ' ',
  );
export const GIVEN_NAMES_MALE: readonly string[] =
  '建华 志强 伟 国庆 明 勇 海军 文斌 振宇 俊杰 家豪 春生 永福 光明 世杰 宏伟 立新 德胜 子轩 浩然'.split(
    ' ',
  );
export const GIVEN_NAMES_FEMALE: readonly string[] =
  '海燕 秀英 丽娟 春梅 桂兰 美玲 晓红 雪梅 丽华 玉凤 凤英 小芳 婷婷 静 艳 佳怡'.split(' ');

export interface SyntheticPerson {
  name: string;
  gender: 'male' | 'female';
}

/** A synthetic person from a random source returning [0, 1) (seeded in the demo). */
export function syntheticPerson(random: () => number): SyntheticPerson {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const gender = random() < 0.82 ? 'male' : 'female'; // most people under correction are men
  const given = gender === 'male' ? pick(GIVEN_NAMES_MALE) : pick(GIVEN_NAMES_FEMALE);
  return { name: `${pick(SURNAMES)}${given}`, gender };
}
