// Password policy of the annotation app: 8 characters to 72 bytes (bcrypt's input), not a common password, not the username.

/** Fewest characters of a password. */
export const MIN_PASSWORD_CHARS = 8;

/** Most UTF-8 bytes of a password: bcrypt reads only the first 72, so longer ones would be silently cut. */
export const MAX_PASSWORD_BYTES = 72;

/**
 * Passwords of 8+ characters that lead the published lists of leaked passwords (RockYou, the
 * NCSC top 100k, SecLists' most common), compared case-insensitively. A short list on purpose:
 * it stops the first guesses of every spraying tool, not a determined offline attack.
 */
const COMMON_PASSWORDS = new Set(
  `password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa$$word passwort motdepasse
  12345678 123456789 1234567890 0123456789 01234567 87654321 987654321 9876543210 11111111 111111111 1111111111
  00000000 000000000 22222222 88888888 99999999 12341234 11223344 12121212 123123123 123321123 147258369 159753258
  12345678910 1234567891 123456789a a12345678 abc12345 abcd1234 abcdefgh 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx
  zaq1zaq1 qwerty12 qwerty123 qwerty1234 qwertyui qwertyuiop asdfghjk asdfghjkl asdf1234 zxcvbnm1 zxcvbnm123
  iloveyou iloveyou1 iloveyou2 sunshine sunshine1 princess princess1 football football1 baseball basketball
  welcome1 welcome123 letmein1 letmein123 trustno1 superman batman123 starwars whatever michelle jennifer
  jordan23 computer internet corvette mercedes chocolate butterfly liverpool charlie1 danielle 123abc123
  changeme changeme1 changeme123 default1 administrator admin123 admin1234 adminadmin rootroot root1234
  secret123 test1234 testtest 1password access14 master123 monkey123 dragon123 shadow123 killer123 hello123
  helloworld freedom1 lovelove iloveu123 myspace1 samsung1 google123 facebook1 linkedin1 abc123456 aa123456
  q1w2e3r4 q1w2e3r4t5 1a2b3c4d 123qweasd qweasdzxc 1qaz2wsx3edc qazwsxedc letmeinnow pokemon123 summer2024
  summer2025 summer2026 winter2024 winter2025 winter2026 spring2025 autumn2025 company123 welcome2025 welcome2026`
    .split(/\s+/)
    .filter((p) => p.length > 0),
);

/** A password against the policy: why it is refused, or null when it is acceptable. */
export function passwordProblem(password: string, username: string): string | null {
  if ([...password].length < MIN_PASSWORD_CHARS) return `use at least ${MIN_PASSWORD_CHARS} characters`;
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > MAX_PASSWORD_BYTES) {
    return `use at most ${MAX_PASSWORD_BYTES} bytes (this one has ${bytes}; bcrypt would silently ignore the rest)`;
  }
  const folded = password.normalize('NFKC').toLowerCase();
  if (COMMON_PASSWORDS.has(folded)) return 'this is one of the most common passwords; choose another';
  if (folded === username.normalize('NFKC').toLowerCase()) return 'the password must not be the username';
  return null;
}
