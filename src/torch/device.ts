// Devices: what the linked libtorch can run on, a checked `--device` choice, and the device new tensors go to by default.
import { native } from './native.js';
import type { Device } from './tensor.js';

/** A device the engine cannot use here (no CUDA in this libtorch, no GPU, an index past the last device, a malformed name). */
export class DeviceError extends Error {
  override name = 'DeviceError';
}

/** CUDA compiled into the linked libtorch and a driver that sees at least one GPU (torch::cuda::is_available()). */
export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}

/** GPUs libtorch sees (0 on a CPU build). */
export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

const DEVICE = /^(cpu|meta|cuda)(?::(\d+))?$/;

/**
 * Parses and checks a device name for use here: `cpu`, `cuda` or `cuda:k` (`meta`, libtorch's shape-only device,
 * is accepted too). `cuda` alone means `cuda:<localRank>`: under `safealign launch` each local rank takes its own GPU,
 * as with torchrun. Throws a DeviceError saying what to do when this libtorch has no CUDA, sees no GPU, or k is not
 * below the device count. `flag` names where the value came from in messages (default `--device`).
 */
export function resolveDevice(name: string, opts: { localRank?: number; flag?: string } = {}): Device {
  const flag = opts.flag ?? '--device';
  const m = DEVICE.exec(name.trim());
  if (!m || (m[2] !== undefined && m[1] !== 'cuda')) throw new DeviceError(`${flag} ${name}: expected cpu, cuda or cuda:k (k = 0, 1, … a GPU index)`);
  if (m[1] !== 'cuda') return m[1] as Device;
  const index = m[2] !== undefined ? Number(m[2]) : (opts.localRank ?? 0);
  const device: Device = `cuda:${index}`;
  const shown = m[2] !== undefined ? name : `${name} (${device}${opts.localRank !== undefined ? ` for local rank ${opts.localRank}` : ''})`;
  if (!native.hasCuda) {
    throw new DeviceError(`${flag} ${shown}: this libtorch was built without CUDA (torch::cuda::is_available() is false); set LIBTORCH to a CUDA build, see README`);
  }
  if (!native.cudaAvailable()) {
    throw new DeviceError(`${flag} ${shown}: this libtorch has CUDA but sees no GPU (torch::cuda::is_available() is false); check the NVIDIA driver (nvidia-smi) and CUDA_VISIBLE_DEVICES`);
  }
  const count = native.cudaDeviceCount();
  if (index >= count) {
    const under = m[2] === undefined && opts.localRank !== undefined ? `; run at most ${count} processes per node` : '';
    throw new DeviceError(`${flag} ${shown}: libtorch sees ${count} CUDA device${count === 1 ? '' : 's'} (cuda:0${count > 1 ? ` … cuda:${count - 1}` : ''})${under}`);
  }
  return device;
}

let current: Device | undefined;

/**
 * Sets the device that creation functions (tensor, zeros, randn, fromBuffer, …) use when given none, as
 * torch.set_default_device does: models built or loaded afterwards have their parameters there. Code that
 * has an input tensor at hand passes its device instead (see `deviceOf`), so it works on any device.
 */
export function setDefaultDevice(device: Device): void {
  current = device === 'cpu' ? undefined : device;
}

/** The device new tensors go to when none is given ('cpu' unless setDefaultDevice said otherwise). */
export function defaultDevice(): Device {
  return current ?? 'cpu';
}

/** @internal The device a creation function should pass to the addon: undefined (libtorch's CPU default) or the set one. */
export function deviceOrDefault(device: Device | undefined): Device | undefined {
  return device ?? current;
}
