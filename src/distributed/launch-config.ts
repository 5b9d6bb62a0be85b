// `safealign launch` settings: torchrun's processes-per-node, nodes and rendezvous address, plus threads per process.
import { z } from 'zod';

export const LaunchSchema = z
  .object({
    nproc: z.number().int().positive().default(1).describe('processes on this node (torchrun --nproc-per-node)'),
    nnodes: z.number().int().positive().default(1).describe('nodes (machines) in the job; start `safealign launch` once on each'),
    nodeRank: z.number().int().min(0).default(0).describe('this node, 0 .. nnodes-1; node 0 runs rank 0, which hosts the rendezvous'),
    masterAddr: z.string().min(1).default('127.0.0.1').describe("address of node 0 that every node can reach (MASTER_ADDR); 127.0.0.1 for one machine"),
    masterPort: z.number().int().min(0).max(65535).default(29500).describe('port of the rendezvous on node 0 (MASTER_PORT); 0: pick a free one (one node only)'),
    threads: z.number().int().min(0).default(0).describe('libtorch threads per process (0: cores / nproc, at least 1)'),
    timeoutSeconds: z.number().positive().default(300).describe('seconds a collective waits for a dead or stuck rank before failing with its name (SAFEALIGN_DIST_TIMEOUT)'),
    joinTimeoutSeconds: z.number().positive().default(900).describe('seconds the rendezvous waits for every rank to start (SAFEALIGN_DIST_JOIN_TIMEOUT)'),
    device: z
      .enum(['cpu', 'cuda'])
      .default('cpu')
      .describe("the ranks' device: with cuda, local rank r takes cuda:r (checked first: this node's libtorch must see nproc GPUs) and a safealign command without --device gets --device cuda; NCCL then carries the collectives when the addon was built with it"),
    program: z.boolean().default(false).describe('run the words after -- as a program (e.g. `node train.js`) instead of a safealign command'),
  })
  .strict()
  .refine((c) => c.nodeRank < c.nnodes, { message: 'nodeRank must be below nnodes', path: ['nodeRank'] })
  .refine((c) => c.masterPort !== 0 || c.nnodes === 1, { message: 'with several nodes, give every node the same --master-port (0 picks a port on one node only)', path: ['masterPort'] });
export type LaunchConfig = z.output<typeof LaunchSchema>;
