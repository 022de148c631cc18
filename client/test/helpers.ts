/** Paths and the interpreter shared by the Node tests (bundled to out/test/, two levels below the root). */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** PAPERLENS_PYTHON, else the repository's .venv (what `make` sets up), else python3 on PATH. */
export function testPython(): string {
  const fromEnv = process.env.PAPERLENS_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = process.platform === 'win32' ? path.join(ROOT, '.venv', 'Scripts', 'python.exe') : path.join(ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}
