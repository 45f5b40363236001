/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.bench.ts, which prints its own figures.
 * Benchmarks report medians over repeated runs and peak memory; they are not part of `npm test`.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length));

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`Usage: npm run bench -- <name> [args]\nAvailable benchmarks: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { run: (args: string[]) => Promise<void> };
await mod.run(args);
