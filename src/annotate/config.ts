// Configuration of the annotation server (`safealign annotate serve`): zod schema with defaults and descriptions.
import { z } from 'zod';

export const SecuritySchema = z
  .object({
    secureCookies: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe("cookies get the Secure flag: 'auto' when the request came over https (with --security-trust-proxy, as the proxy says)"),
    trustProxy: z.boolean().default(false).describe('trust X-Forwarded-* headers from a reverse proxy (for https detection and client IPs)'),
    bcryptRounds: z.number().int().min(4).max(15).default(12).describe('bcrypt cost factor of stored password hashes'),
    sessionHours: z.number().min(0.1).max(24 * 30).default(12).describe('a login session lasts this many hours'),
    loginMaxFailures: z.number().int().min(1).max(1000).default(5).describe('wrong passwords per account allowed in the window before logins are refused (429)'),
    loginWindowMinutes: z.number().min(0.1).max(24 * 60).default(15).describe('window of --security-login-max-failures'),
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
      .describe('password of --admin-user, at least 8 characters (or set SAFEALIGN_ADMIN_PASSWORD; prefer the variable: flags show in ps)'),
    modelsDir: z
      .string()
      .default('runs')
      .describe("folder of model checkpoints admins may generate pairs with (paths on the page are relative to it; '' turns generation off)"),
    bodyLimitMb: z.number().min(1).max(1024).default(50).describe('largest request body (imports) in MB'),
    log: z.boolean().default(false).describe('log every request as JSON lines on stderr'),
    security: SecuritySchema.default(SecuritySchema.parse({})),
  })
  .strict();

export type ServeConfig = z.output<typeof ServeConfigSchema>;
export type SecurityConfig = z.output<typeof SecuritySchema>;
