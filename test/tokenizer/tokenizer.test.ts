/**
 * Tokenizer: the fixtures' tokenizer case, identical ids from tokenizer.json
 * and from the GGUF metadata over a 250+ string corpus, round trips, special
 * tokens only on request, streaming detokenization, and bad input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArgumentError, ModelFormatError, UnsupportedError } from '../../lib/errors';
import { openModelFiles } from '../../lib/loaders';
import type { ModelFiles } from '../../lib/loaders/types';
import { loadTokenizer } from '../../lib/tokenizer/load-tokenizer';
import { tokenizerJsonFromGguf } from '../../lib/tokenizer/gguf-tokenizer';
import type { Tokenizer } from '../../lib/tokenizer/tokenizer';
import { FIXTURES, fixtureDir, fixtureGguf } from '../helpers/fixtures';
import { tokenizerCorpus } from './corpus';

const corpus = tokenizerCorpus(200);

function withMetadata(files: ModelFiles, edit: (m: Record<string, unknown>) => void): ModelFiles {
  const metadata = { ...files.metadata };
  edit(metadata);
  return { ...files, metadata };
}

test('the corpus has 250+ distinct strings', () => {
  expect(new Set(corpus).size).toBeGreaterThanOrEqual(250);
});

for (const name of FIXTURES) {
  describe(`${name} tokenizer`, () => {
    let fromJson: Tokenizer;
    let fromGguf: Tokenizer;
    let ggufFiles: ModelFiles;
    const golden = JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'golden.json'), 'utf8')).tokenizer_case as {
      text: string;
      ids: number[];
    };

    beforeAll(async () => {
      fromJson = await loadTokenizer(await openModelFiles(fixtureDir(name)));
      ggufFiles = await openModelFiles(fixtureGguf(name));
      fromGguf = await loadTokenizer(ggufFiles);
    });

    test('sources and special ids', () => {
      expect(fromJson.source).toBe('tokenizer.json');
      expect(fromGguf.source).toBe('gguf');
      for (const t of [fromJson, fromGguf]) {
        expect(t.eosTokenId).toBe(496);
        expect(t.bosTokenId).toBe(496);
        expect(t.padTokenId).toBe(497);
        expect(t.addBos).toBe(false);
        expect(t.tokenCount).toBe(512);
        expect(t.chatTemplate.source).toBe('model');
      }
    });

    test('golden tokenizer_case (special tokens recognised, no BOS)', () => {
      expect(fromJson.encode(golden.text, { special: true })).toEqual(golden.ids);
      expect(fromGguf.encode(golden.text, { special: true })).toEqual(golden.ids);
    });

    test('every corpus string: same ids from tokenizer.json and GGUF, and a round trip', () => {
      const mismatches: string[] = [];
      for (const s of corpus) {
        for (const special of [false, true]) {
          const a = fromJson.encode(s, { special });
          const b = fromGguf.encode(s, { special });
          if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push(`ids differ (special=${special}) for ${JSON.stringify(s)}`);
          if (fromJson.decode(a) !== s) mismatches.push(`json round trip (special=${special}) of ${JSON.stringify(s)}`);
          if (fromGguf.decode(b) !== s) mismatches.push(`gguf round trip (special=${special}) of ${JSON.stringify(s)}`);
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
    });

    test('special-token strings are text unless special: true', () => {
      const s = 'a<|end_of_text|>b<|start_of_role|>';
      for (const t of [fromJson, fromGguf]) {
        const plain = t.encode(s);
        expect(plain).not.toContain(496);
        expect(plain).not.toContain(499);
        expect(t.decode(plain)).toBe(s);
        const special = t.encode(s, { special: true });
        expect(special).toContain(496);
        expect(special).toContain(499);
        expect(t.decode(special, { skipSpecial: true })).toBe('ab');
        expect(t.isSpecial(496)).toBe(true);
        expect(t.isSpecial(special[0])).toBe(false);
      }
    });

    test('the streaming detokenizer never splits a character', () => {
      for (const s of corpus.slice(0, 120)) {
        const ids = fromGguf.encode(s);
        const detok = fromGguf.createDetokenizer();
        let out = '';
        for (const id of ids) {
          const piece = detok.push(id);
          expect(piece).not.toContain('\uFFFD');
          out += piece;
        }
        out += detok.flush();
        expect(out).toBe(s);
      }
    });

    test('bad input names the culprit', () => {
      expect(() => fromJson.encode(42 as unknown as string)).toThrow(ArgumentError);
      expect(() => fromJson.decode([1, 512])).toThrow(/ids\[1\] = 512/);
      expect(() => fromJson.decode([0.5])).toThrow(ArgumentError);
    });

    test('GGUF tokenizer metadata errors are typed and name the key', async () => {
      const pre = withMetadata(ggufFiles, (m) => (m['tokenizer.ggml.pre'] = 'qwen2'));
      await expect(loadTokenizer(pre)).rejects.toThrow(UnsupportedError);
      await expect(loadTokenizer(pre)).rejects.toThrow(/tokenizer\.ggml\.pre/);
      const kind = withMetadata(ggufFiles, (m) => (m['tokenizer.ggml.model'] = 'llama'));
      await expect(loadTokenizer(kind)).rejects.toThrow(/tokenizer\.ggml\.model/);
      const none = withMetadata(ggufFiles, (m) => delete m['tokenizer.ggml.model']);
      await expect(loadTokenizer(none)).rejects.toThrow(UnsupportedError);
      const types = withMetadata(ggufFiles, (m) => (m['tokenizer.ggml.token_type'] = [1, 2]));
      await expect(loadTokenizer(types)).rejects.toThrow(ModelFormatError);
      await expect(loadTokenizer(types)).rejects.toThrow(/token_type/);
      const tokens = withMetadata(ggufFiles, (m) => (m['tokenizer.ggml.tokens'] = ['a', 7]));
      await expect(loadTokenizer(tokens)).rejects.toThrow(/tokenizer\.ggml\.tokens'\[1\]/);
    });

    test('GGUF unused (padding) ids are never usable', () => {
      const meta = { ...ggufFiles.metadata } as Record<string, unknown>;
      const tokens = [...(meta['tokenizer.ggml.tokens'] as string[]), '[PAD512]', '[PAD513]'];
      const types = [...(meta['tokenizer.ggml.token_type'] as number[]), 5, 5];
      const { unusedIds } = tokenizerJsonFromGguf({ ...meta, 'tokenizer.ggml.tokens': tokens, 'tokenizer.ggml.token_type': types }, 'x.gguf');
      expect(unusedIds).toEqual([512, 513]);
      expect(fromGguf.isUsable(511)).toBe(true);
      expect(fromGguf.isUsable(512)).toBe(false);
    });
  });
}
