// Copies the annotation page's static files (HTML, CSS, JS) next to the compiled server in dist/ (tsc copies only .ts output).
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'src/annotate/web'), join(root, 'dist/annotate/web'), { recursive: true });
