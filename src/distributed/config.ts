// Where a process sits in a distributed job: a zod schema, read from torchrun's environment variables.
import { z } from 'zod';

export const DistributedSchema = z
  .object({
    rank: z.number().int().min(0).describe('this process, 0 .. worldSize-1 (RANK)'),
    worldSize: z.number().int().positive().describe('processes in the job, on every node (WORLD_SIZE)'),
    localRank: z.number().int().min(0).default(0).describe('this process among those of its node (LOCAL_RANK)'),
    masterAddr: z.string().min(1).default('127.0.0.1').describe('address of rank 0, which hosts the TCPStore rendezvous (MASTER_ADDR)'),
    masterPort: z.number().int().min(0).max(65535).default(29500).describe('port of that store (MASTER_PORT); 0 lets rank 0 pick a free one'),
    timeoutSeconds: z.number().positive().default(300).describe('how long a collective waits for a peer before failing with its rank (SAFEALIGN_DIST_TIMEOUT)'),
    joinTimeoutSeconds: z.number().positive().default(900).describe("how long the rendezvous waits for every rank to start, as torchrun's --rdzv-timeout (SAFEALIGN_DIST_JOIN_TIMEOUT)"),
  })
  .strict()
  .refine((c) => c.rank < c.worldSize, { message: 'rank must be below worldSize', path: ['rank'] });
export type DistributedConfig = z.output<typeof DistributedSchema>;
export type DistributedOptions = z.input<typeof DistributedSchema>;

/** A bad distributed environment: names the variable, what it held and what was expected. */
export class DistributedEnvError extends Error {
  override name = 'DistributedEnvError';
}

const VARS = { rank: 'RANK', worldSize: 'WORLD_SIZE', localRank: 'LOCAL_RANK', masterAddr: 'MASTER_ADDR', masterPort: 'MASTER_PORT', timeoutSeconds: 'SAFEALIGN_DIST_TIMEOUT', joinTimeoutSeconds: 'SAFEALIGN_DIST_JOIN_TIMEOUT' } as const;

/**
 * The job this process belongs to, from RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (what torchrun and
 * `safealign launch` set), SAFEALIGN_DIST_TIMEOUT and SAFEALIGN_DIST_JOIN_TIMEOUT (seconds); null when WORLD_SIZE is unset (a single process).
 */
export function distributedFromEnv(env: NodeJS.ProcessEnv = process.env): DistributedConfig | null {
  if (env.WORLD_SIZE === undefined) return null;
  const raw: Record<string, string | number> = {};
  for (const [field, name] of Object.entries(VARS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[field] = field === 'masterAddr' ? v : Number(v);
  }
  if (raw.rank === undefined) throw new DistributedEnvError('WORLD_SIZE is set but RANK is not: set both (as `safealign launch` and torchrun do), or neither for one process');
  const parsed = DistributedSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const field = String(i.path[0] ?? '') as keyof typeof VARS;
      const name = VARS[field] ?? field;
      return `${name}=${env[name] ?? '(unset)'}: ${i.message}`;
    });
    throw new DistributedEnvError(`bad distributed environment:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
