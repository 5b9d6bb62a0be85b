// A missing libtorch is one clear message naming the fix, not a wall of compiler output.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('native build', () => {
  it('explains how to install libtorch when LIBTORCH points nowhere', () => {
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs', '--force'], {
      encoding: 'utf8',
      env: { ...process.env, LIBTORCH: '/nonexistent/libtorch' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('libtorch was not found');
    expect(r.stderr).toContain('apt-get install -y libtorch-dev libopenblas0-pthread');
    expect(r.stderr).toContain('LIBTORCH=/path/to/libtorch');
    expect(r.stderr.split('\n').length).toBeLessThan(10);
    expect(r.stdout).toBe('');
  });
});
