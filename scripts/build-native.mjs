#!/usr/bin/env node
// Builds the libtorch N-API addon (native/) with node-gyp, after checking that libtorch is there.
// Skips the build when the addon is newer than every native source, unless --force is given.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addon = join(nativeDir, 'build', 'Release', 'safealign_torch.node');
const force = process.argv.includes('--force');

function libtorchIncludeDir() {
  const base = process.env.LIBTORCH;
  if (base) return join(base, 'include');
  return '/usr/include';
}

const header = join(libtorchIncludeDir(), 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h');
if (!existsSync(header)) {
  const where = process.env.LIBTORCH ? `LIBTORCH=${process.env.LIBTORCH}` : 'the system include path (/usr/include)';
  console.error(
    [
      `safealign: libtorch was not found (looked for ${header} under ${where}).`,
      'Install it and build again:',
      '  Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-pthread',
      '  elsewhere:     download libtorch (CPU or CUDA) from pytorch.org, unzip it and run',
      '                 LIBTORCH=/path/to/libtorch npm run build:native',
    ].join('\n'),
  );
  process.exit(1);
}

const sources = readdirSync(nativeDir).filter((f) => /\.(cc|h|gyp)$/.test(f));
if (!force && existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  if (sources.every((f) => statSync(join(nativeDir, f)).mtimeMs <= built)) process.exit(0);
}

const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the local Node headers: there may be no network to download them from.
const nodedir =
  process.env.npm_config_nodedir ||
  [join(dirname(process.execPath), '..'), '/usr', '/usr/local'].find((d) => existsSync(join(d, 'include', 'node', 'node.h')));
const args = existsSync(gyp)
  ? [gyp, 'rebuild', `--jobs=${process.env.JOBS ?? 'max'}`, ...(nodedir ? [`--nodedir=${nodedir}`] : [])]
  : null;
if (!args) {
  console.error('safealign: node-gyp is missing from node_modules; run `npm install` first.');
  process.exit(1);
}
const res = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: 'inherit' });
if (res.status !== 0) {
  console.error('safealign: building the libtorch addon failed (see the compiler output above).');
  process.exit(res.status ?? 1);
}
