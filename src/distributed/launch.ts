// Starts the local ranks of a distributed job with torchrun's environment, and stops them all when one fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import type { LaunchConfig } from './launch-config.js';

/** The environment of local rank `localRank` (torchrun's variables, plus threads and the timeout). */
export function rankEnv(config: LaunchConfig, localRank: number, masterPort: number): Record<string, string> {
  const threads = config.threads > 0 ? config.threads : Math.max(1, Math.floor(cpus().length / config.nproc));
  return {
    RANK: String(config.nodeRank * config.nproc + localRank),
    WORLD_SIZE: String(config.nnodes * config.nproc),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(config.nproc),
    GROUP_RANK: String(config.nodeRank),
    MASTER_ADDR: config.masterAddr,
    MASTER_PORT: String(masterPort),
    SAFEALIGN_DIST_TIMEOUT: String(config.timeoutSeconds),
    SAFEALIGN_DIST_JOIN_TIMEOUT: String(config.joinTimeoutSeconds),
    SAFEALIGN_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
  };
}

/** A port free on this machine a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface LaunchResult {
  /** 0 when every rank exited with 0, else the first failing rank's code (1 for a signal) */
  exitCode: number;
  /** the first rank that failed, if any */
  failedRank: number | null;
  /** one line per event worth telling the user (a failed rank, the ranks stopped after it) */
  messages: string[];
}

/**
 * Runs `argv` (program and arguments) as the `nproc` local ranks and waits for them. When one exits non-zero or is
 * killed, the others get SIGTERM (then SIGKILL after 5 s), like torchrun; SIGINT/SIGTERM to the launcher go to every rank.
 */
export async function launch(config: LaunchConfig, argv: readonly string[], report: (line: string) => void = () => {}): Promise<LaunchResult> {
  const [program, ...args] = argv;
  if (!program) throw new RangeError('launch: no command to run (put it after --)');
  const masterPort = config.masterPort === 0 ? await freePort() : config.masterPort;
  const messages: string[] = [];
  const say = (line: string) => {
    messages.push(line);
    report(line);
  };
  const firstRank = config.nodeRank * config.nproc;
  const children: (ChildProcess | null)[] = [];
  let failedRank: number | null = null;
  let exitCode = 0;
  const stopOthers = () => {
    for (const c of children) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of children) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 5000).unref();
  };
  const forward = (signal: NodeJS.Signals) => () => {
    for (const c of children) c?.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await Promise.all(
      Array.from({ length: config.nproc }, (_, localRank) => {
        const rank = firstRank + localRank;
        return new Promise<void>((resolve) => {
          const child = spawn(program, args, { env: { ...process.env, ...rankEnv(config, localRank, masterPort) }, stdio: 'inherit' });
          children[localRank] = child;
          const fail = (code: number, what: string) => {
            if (failedRank === null) {
              failedRank = rank;
              exitCode = code;
              say(`rank ${rank} (local rank ${localRank}, pid ${child.pid ?? '?'}) ${what}; stopping the other ranks`);
              stopOthers();
            } else {
              say(`rank ${rank} (local rank ${localRank}) stopped: ${what}`);
            }
          };
          child.on('error', (e) => {
            fail(127, `could not start ${program}: ${e.message}`);
            resolve();
          });
          child.on('exit', (code, signal) => {
            if (signal) fail(1, `was killed by ${signal}`);
            else if (code !== 0) fail(code ?? 1, `exited with code ${code}`);
            resolve();
          });
        });
      }),
    );
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return { exitCode, failedRank, messages };
}
