// Configuration of the annotation server (`safealign annotate serve`): zod schema with defaults and descriptions.
import { isIP } from 'node:net';
import { z } from 'zod';

/** proxy-addr's names for address ranges, accepted in a --security-trust-proxy list. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Why a --security-trust-proxy entry is unusable, or null when it is an address, a CIDR range or a range name. */
function proxyEntryProblem(entry: string): string | null {
  if (PROXY_RANGE_NAMES.has(entry)) return null;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return `'${entry}' is not an IP address, a CIDR range (10.0.0.0/8) or one of ${[...PROXY_RANGE_NAMES].join(', ')}`;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))) {
    return `'${entry}': the prefix length must be 0-${family === 4 ? 32 : 128}`;
  }
  return null;
}

/** --security-trust-proxy read: off, a hop count, or proxy addresses/CIDRs/range names. */
export type TrustProxy = { kind: 'off' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; entries: string[] };

/** Reads a --security-trust-proxy value (a number or text: hop count, or comma-separated entries). */
export function parseTrustProxy(value: number | string): TrustProxy {
  const text = String(value).trim();
  if (text === '' || text === '0') return { kind: 'off' };
  if (/^\d+$/.test(text)) return { kind: 'hops', hops: Number(text) };
  return { kind: 'addresses', entries: text.split(',').map((e) => e.trim()) };
}

/**
 * What Fastify's `trustProxy` gets: false (off), a function trusting the first N hops (the
 * socket peer counts as hop 0; Fastify's own numeric option trusts nothing), or the address
 * list (checked against the socket peer and each forwarded hop, right to left). Never `true`:
 * trusting every hop lets any client choose its address.
 */
export function trustProxySetting(value: number | string): false | string[] | ((address: string, hop: number) => boolean) {
  const t = parseTrustProxy(value);
  if (t.kind === 'off') return false;
  if (t.kind === 'hops') return (_address, hop) => hop < t.hops;
  return t.entries;
}

/** A problem with a --security-trust-proxy value, or null. */
function trustProxyProblem(value: number | string): string | null {
  const t = parseTrustProxy(value);
  if (t.kind === 'off') return null;
  if (t.kind === 'hops') return t.hops <= 100 ? null : 'a hop count above 100 is not plausible';
  if (t.entries.some((e) => /^(true|yes|all|\*)$/i.test(e))) {
    return 'trusting every hop would let any client choose its address (and escape the per-address limits); give the number of proxies in front of the server, or their addresses';
  }
  for (const e of t.entries) {
    const problem = proxyEntryProblem(e);
    if (problem) return problem;
  }
  return null;
}

export const SecuritySchema = z
  .object({
    secureCookies: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe("cookies get the Secure flag: 'auto' when the request came over https (behind a proxy listed in --security-trust-proxy, as the proxy says)"),
    trustProxy: z
      .union([z.number().int().min(0), z.string().max(2000)])
      .superRefine((v, ctx) => {
        const problem = trustProxyProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('')
      .describe(
        "reverse proxies whose X-Forwarded-For/-Proto to believe (client address for the per-address limits, https for Secure cookies): '' none; N the number of proxies in front of the server; or their addresses/CIDRs, comma-separated (e.g. '127.0.0.1' or '10.0.0.0/8,::1')",
      ),
    bcryptRounds: z.number().int().min(4).max(15).default(12).describe('bcrypt cost factor of stored password hashes'),
    sessionHours: z.number().min(0.1).max(24 * 30).default(12).describe('a login session lasts at most this many hours'),
    sessionIdleMinutes: z
      .number()
      .min(1)
      .max(24 * 60 * 30)
      .default(60)
      .describe('a login session ends after this many minutes without a request (besides --security-session-hours)'),
    loginMaxFailures: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe(
        "wrong passwords per account in the window before its logins are refused (429): counted together over addresses it has not signed in from, and apart for each address it has (so others' guesses cannot lock its owner out)",
      ),
    loginMaxFailuresPerAddress: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(20)
      .describe("wrong passwords from one client address, over all accounts, in the window before that address's logins are refused (except to accounts that signed in from it before)"),
    loginWindowMinutes: z.number().min(0.1).max(24 * 60).default(15).describe('window of the wrong-password limits'),
    knownAddressDays: z
      .number()
      .min(0)
      .max(365)
      .default(30)
      .describe('an address stays known for an account this many days after a successful sign-in from it (0: no address is ever known)'),
    loginRequestsPerMinute: z.number().int().min(1).max(100_000).default(30).describe('login attempts per minute allowed from one client address'),
  })
  .strict();

export const ServeConfigSchema = z
  .object({
    db: z
      .string()
      .default('sqlite:runs/annotate/annotations.sqlite')
      .describe('database: sqlite:PATH (embedded, WAL) or postgres://USER:PASSWORD@HOST:PORT/DB[?schema=NAME]'),
    host: z.string().default('127.0.0.1').describe('address to listen on (0.0.0.0 for every interface)'),
    port: z.number().int().min(0).max(65_535).default(8730).describe('TCP port (0 picks a free one)'),
    adminUser: z
      .string()
      .default('')
      .describe('create this admin account at start when the database has no admin yet (or set SAFEALIGN_ADMIN_USER)'),
    adminPassword: z
      .string()
      .default('')
      .describe('password of --admin-user: 8 characters to 72 bytes, not a common password, not the username (or set SAFEALIGN_ADMIN_PASSWORD; prefer the variable: flags show in ps)'),
    modelsDir: z
      .string()
      .default('runs')
      .describe("folder of model checkpoints admins may generate pairs with (paths on the page are relative to it; '' turns generation off)"),
    jobStaleSeconds: z
      .number()
      .int()
      .min(5)
      .max(86_400)
      .default(60)
      .describe('a generation job whose server wrote no heartbeat for this long (it crashed) is started again by a running server'),
    imageDir: z
      .string()
      .optional()
      .describe('folder that image paths of imported image + text pairs (BeaverTails-V rows, or an "image" field) are read in, relative to it; paths leading outside it are refused. Unset: images only as base64 / data: URLs in the line'),
    bodyLimitMb: z.number().min(1).max(1024).default(50).describe('largest body of a batch import or generation request in MB (every other request: 64 KB, sign-in 4 KB)'),
    log: z.boolean().default(false).describe('log every request as JSON lines on stderr'),
    security: SecuritySchema.default(SecuritySchema.parse({})),
  })
  .strict();

export type ServeConfig = z.output<typeof ServeConfigSchema>;
export type SecurityConfig = z.output<typeof SecuritySchema>;
