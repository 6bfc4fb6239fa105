import fs from 'node:fs';
import path from 'node:path';

/** Every file below a folder (none when it does not exist), sorted. */
export function filesBelow(dir: string): string[] {
  const result: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else result.push(p);
    }
  };
  walk(dir);
  return result.sort();
}
