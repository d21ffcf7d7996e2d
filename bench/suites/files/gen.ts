// A generator as a TypeScript project writes it for Node: ES imports, import.meta.url and its own __dirname.
import { readFileSync, readdirSync } from 'fs';
import { dirname, join } from 'path';
import { fileURLToPath } from 'url';

const __dirname = dirname(fileURLToPath(import.meta.url));

interface Row { word: string; note?: string }

export default function generateTests() {
  const folder = join(__dirname, 'data');
  return readdirSync(folder)
    .filter((name: string) => name.endsWith('.json'))
    .sort()
    .map((name: string) => {
      const row: Row = JSON.parse(readFileSync(join(folder, name), 'utf-8'));
      return { description: `record ${name}`, vars: { word: row.word } };
    });
}
