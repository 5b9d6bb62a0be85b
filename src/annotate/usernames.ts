// Usernames without look-alikes: normalised (NFKC, lower case), one script, no invisible or bidi characters, unique by skeleton.

/** Most characters (code points) of a username. */
export const MAX_USERNAME_CHARS = 64;

/** The stored form of a username and the form a sign-in is looked up by: NFKC, lower case (`ADMIN`, `ａｄｍｉｎ` -> `admin`). */
export function normaliseUsername(raw: string): string {
  return raw.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Letters, marks and digits of any script, and `. _ - @ '` inside; starts with a letter or digit. */
const ALLOWED = /^[\p{L}\p{Nd}][\p{L}\p{M}\p{Nd}._@'-]*$/u;
/** Characters that render as nothing or reorder the text around them. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]/u;

/** Scripts told apart by the one-script rule; a letter of any other script counts as 'other'. */
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Devanagari', 'Bengali', 'Thai', 'Hangul', 'Han', 'Hiragana', 'Katakana', 'Cherokee'];
const SCRIPT_TESTS = SCRIPTS.map((name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, 'u') }));
/** Scripts written together (Japanese, Korean): a name may mix these, as UTS #39's "highly restrictive" level allows. */
const WRITTEN_TOGETHER = [new Set(['Han', 'Hiragana', 'Katakana']), new Set(['Han', 'Hangul'])];

function scriptOf(letter: string): string {
  return SCRIPT_TESTS.find((s) => s.re.test(letter))?.name ?? 'other';
}

/** The scripts of a name's letters (digits and punctuation belong to none). */
export function scriptsOf(name: string): Set<string> {
  return new Set([...name].filter((c) => /\p{L}/u.test(c)).map(scriptOf));
}

/** Why a normalised username is refused, or null when it is acceptable. */
export function usernameProblem(name: string): string | null {
  const chars = [...name];
  if (chars.length === 0) return 'choose a username';
  if (chars.length > MAX_USERNAME_CHARS) return `use at most ${MAX_USERNAME_CHARS} characters`;
  const hidden = chars.find((c) => INVISIBLE.test(c));
  if (hidden) {
    const code = `U+${(hidden.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    return `invisible, spacing or direction-changing characters are not allowed (found ${code})`;
  }
  if (!ALLOWED.test(name)) return "use letters and digits, and . _ - @ ' inside (starting with a letter or digit)";
  const scripts = scriptsOf(name);
  if (scripts.size > 1 && !WRITTEN_TOGETHER.some((group) => [...scripts].every((s) => group.has(s)))) {
    return `use letters of one script, not a mix (${[...scripts].join(', ')}): mixed names imitate others`;
  }
  return null;
}

/**
 * Letters of other scripts (and Latin variants) that look like a Latin letter, after accents are
 * removed; a small hand-picked part of Unicode's confusables.txt (UTS #39) that covers the
 * letters of names.
 */
const LOOKS_LIKE: Record<string, string> = {
  // Cyrillic
  а: 'a', в: 'b', г: 'r', д: 'd', е: 'e', ѐ: 'e', ё: 'e', з: '3', к: 'k', м: 'm', н: 'h', о: 'o', п: 'n', р: 'p', с: 'c', т: 't',
  у: 'y', х: 'x', ь: 'b', ѕ: 's', і: 'i', ї: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ү: 'y', ӏ: 'l', ɡ: 'g',
  // Greek
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w', ϲ: 'c', ϳ: 'j',
  // Armenian
  օ: 'o', ս: 'u', հ: 'h', ո: 'n', ց: 'g', զ: 'q',
  // Latin letters without a decomposition, and digits and punctuation read as letters
  ı: 'i', ȷ: 'j', ł: 'l', ø: 'o', đ: 'd', ħ: 'h', ŧ: 't', ß: 'ss', æ: 'ae', œ: 'oe', '0': 'o', '1': 'l', '|': 'l', _: '-', '.': '-',
};

/**
 * What a normalised username looks like: accents removed, look-alike letters replaced by their
 * Latin twin, `rn` read as `m` and `vv` as `w`. Two names with one skeleton are confusable.
 */
export function usernameSkeleton(name: string): string {
  const bare = name.normalize('NFD').replace(/\p{M}/gu, '');
  return [...bare]
    .map((c) => LOOKS_LIKE[c] ?? c)
    .join('')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w');
}
