// The `device` setting every command that runs a model has, and putting the engine on it.
import { z } from 'zod';
import { DeviceError, resolveDevice, setDefaultDevice, type Device } from '../torch/index.js';

/** `--device`: cpu (default), cuda or cuda:k. Checked against the linked libtorch by useDevice when the command starts. */
export const DeviceSchema = z
  .string()
  .regex(/^(cpu|cuda(:\d+)?)$/, 'expected cpu, cuda or cuda:k (k = 0, 1, … a GPU index)')
  .default('cpu')
  .describe("where the models and tensors live: cpu, cuda (under safealign launch: cuda:LOCAL_RANK, one GPU per local rank) or cuda:k; cuda needs a CUDA build of libtorch (README: GPUs)");

/**
 * Puts this process's engine on `name` (see DeviceSchema): models built or loaded afterwards, and the tensors made
 * without a device, go there. `cuda` takes cuda:LOCAL_RANK under `safealign launch` (torchrun's variable), else cuda:0.
 * Throws a DeviceError saying what to do when this libtorch has no CUDA, sees no GPU, or the index is past the last one.
 */
export function useDevice(name: string, env: NodeJS.ProcessEnv = process.env): Device {
  const localRank = env.LOCAL_RANK !== undefined && env.LOCAL_RANK !== '' ? Number(env.LOCAL_RANK) : undefined;
  const localProcesses = Number(env.LOCAL_WORLD_SIZE ?? 1);
  if (localProcesses > 1) checkLocalDevices(name, localProcesses);
  const device = resolveDevice(name, localRank !== undefined && Number.isInteger(localRank) ? { localRank } : {});
  setDefaultDevice(device);
  return device;
}

/**
 * Checks before starting `nproc` processes on this machine that each can have the device `name` gives it: with
 * `cuda`, local rank r takes cuda:r, so this libtorch must see nproc GPUs; one GPU (`cuda:k`) cannot serve several.
 */
export function checkLocalDevices(name: string, nproc: number, flag = '--device'): void {
  if (/^cuda:\d+$/.test(name) && nproc > 1) {
    throw new DeviceError(`${flag} ${name} with ${nproc} processes on this machine: each needs its own GPU; give ${flag} cuda (local rank r takes cuda:r)`);
  }
  if (name === 'cuda') for (let r = 0; r < nproc; r++) resolveDevice(name, { localRank: r, flag });
}
