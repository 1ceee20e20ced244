// Starts the real atelier binary on a fresh SQLite database and storage directory, on a free
// port, and stops it by its PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const webRoot = resolve(here, '../../..');
const repoRoot = resolve(webRoot, '..');

export async function startAtelier(env) {
  const binary = process.env.ATELIER_BINARY || join(repoRoot, 'build', 'atelier');
  const dir = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
  const child = spawn(binary, ['serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: `sqlite://${dir}/atelier.db`,
      STORAGE_URL: `file://${dir}/uploads`,
      JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e-secret',
      WEB_DIR: join(webRoot, 'dist'),
      THREADS: '2',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const port = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`atelier did not start within 20 s:\n${log}`)), 20_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`atelier exited with ${code} before listening:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        const timeout = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(timeout);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
