/** The embedded model's location, its 'embedded' alias, and that npm ships it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_PATH, openModelFiles } from '../lib';
import { resolveModelPath } from '../lib/embedded';

const ROOT = path.join(__dirname, '..');

test("'embedded' resolves to the shipped F16 GGUF; other paths are left alone", async () => {
  expect(EMBEDDED_MODEL_NAME).toBe('embedded');
  expect(resolveModelPath('embedded')).toBe(EMBEDDED_MODEL_PATH);
  expect(resolveModelPath('./embedded.gguf')).toBe('./embedded.gguf');
  const files = await openModelFiles('embedded');
  expect(files.format).toBe('gguf');
  expect(files.files).toEqual([EMBEDDED_MODEL_PATH]);
  expect(files.config.layer_types).toContain('attention');
  expect(files.config.layer_types.filter((k) => k === 'mamba').length).toBeGreaterThan(1);
  expect(files.config.mamba_n_groups).toBeGreaterThan(1);
  expect(files.config.num_local_experts).toBeGreaterThan(0);
});

test('the model directory holds both formats, the tokenizer and the licence notes, and npm packs it', () => {
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'granite-h-nano-f16.gguf',
    'granite-h-nano-q8_0.gguf', 'README.md', 'DATA-LICENSE.md']) {
    expect(fs.existsSync(path.join(EMBEDDED_MODEL_DIR, f))).toBe(true);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.files).toContain('models/granite-h-nano');
});

test("the tokenizer has Granite's added tokens and renders Granite's chat template", async () => {
  const { loadTokenizer } = await import('../lib/tokenizer/load-tokenizer');
  const tok = await loadTokenizer(await openModelFiles('embedded'));
  const eos = tok.tokenToId('<|end_of_text|>');
  expect(tok.eosTokenId).toBe(eos);
  const text = tok.applyChatTemplate([{ role: 'user', content: 'Hello' }], { addGenerationPrompt: true });
  expect(text).toBe(
    '<|start_of_role|>system<|end_of_role|>You are a helpful assistant. Please ensure responses are professional, accurate, and safe.<|end_of_text|>\n' +
      '<|start_of_role|>user<|end_of_role|>Hello<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>',
  );
  const ids = tok.encodeChat([{ role: 'user', content: 'Hello' }], { addGenerationPrompt: true });
  expect(ids[0]).toBe(tok.tokenToId('<|start_of_role|>'));
  expect(ids.filter((id) => id === eos)).toHaveLength(2);
  for (const t of ['<|pad|>', '<|end_of_role|>', '<tool_call>', '</documents>']) expect(tok.tokenToId(t)).toBeDefined();
});
