// Builds the web console into dist/ui (`npm run build:ui`; `npm ci` runs it through `prepare`).
// Prints each file with its gzipped size and fails when the whole exceeds the 150 KB budget.
import { buildUi } from '../src/ui/index.ts';

const BUDGET = 150 * 1024;
const b = await buildUi();
for (const f of b.files)
  console.log(`${f.name.padEnd(40)} ${String(f.bytes).padStart(8)} B  ${String(f.gzipBytes).padStart(7)} B gzipped`);
console.log(`web console: ${(b.gzipBytes / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB) in ${b.dir}`);
if (b.gzipBytes > BUDGET) {
  console.error('the web console is over its size budget');
  process.exit(1);
}
