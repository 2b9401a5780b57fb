/**
 * Test helper: fixture paths and scratch directories for loader tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The two golden fixtures (test/fixtures/README.md). */
export const FIXTURES = ['granite-h-tiny-dense', 'granite-h-tiny-moe'] as const;
export type FixtureName = (typeof FIXTURES)[number];

/** Absolute path of a fixture directory. */
export function fixtureDir(name: FixtureName): string {
  return path.join(__dirname, '..', 'fixtures', name);
}

/** Absolute path of a fixture's GGUF file. */
export function fixtureGguf(name: FixtureName): string {
  return path.join(fixtureDir(name), 'model.gguf');
}

/** A fresh temporary directory (removed by {@link removeTmpDir}). */
export function makeTmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hybridlm-${tag}-`));
}

/** Removes a directory made by {@link makeTmpDir}. */
export function removeTmpDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Copies a fixture's Hugging Face files (config.json, model.safetensors,
 * tokenizer files; not the GGUF) into `dest`, optionally editing config.json.
 */
export function copyHfFixture(
  name: FixtureName,
  dest: string,
  editConfig?: (config: Record<string, unknown>) => void,
): string {
  fs.mkdirSync(dest, { recursive: true });
  const src = fixtureDir(name);
  for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    fs.copyFileSync(path.join(src, f), path.join(dest, f));
  }
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  editConfig?.(config);
  fs.writeFileSync(path.join(dest, 'config.json'), JSON.stringify(config, null, 2));
  return dest;
}
