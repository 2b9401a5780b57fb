/**
 * Test corpus for tokenizer equivalence: hand-picked hard cases (unicode,
 * emoji, CJK, code, digits, whitespace runs, contractions, special-token
 * text) plus seeded random strings over a mixed alphabet. No lone surrogates:
 * they cannot round-trip through UTF-8.
 */
import { prng as rng } from '../helpers/random';

const HAND = [
  '',
  ' ',
  'a',
  'Hello, world!',
  'What does the state space model keep?',
  "I'm here, you're there, he'll go, we've been, she'd say, it's 'quoted'.",
  "I'M LOUD, YOU'RE LOUD, HE'LL GO, WE'VE BEEN, SHE'D, IT'S",
  'The Mamba layers keep a constant-size state; attention layers keep a KV cache.',
  '  leading spaces',
  'trailing spaces   ',
  '\ttab\tseparated\tvalues\t',
  'line one\nline two\n\nline four\r\nwindows line\r\n',
  '\n\n\n',
  '     ',
  'a  b   c    d     e',
  '12345678901234567890',
  '3.14159 2.71828 1e-5 -42 +7 0x1F 1,000,000',
  'Numbers 1 22 333 4444 55555',
  'café naïve résumé Ångström façade',
  'Ελληνικά Русский язык עברית العربية',
  '日本語のテキストと中文文本和한국어',
  '你好，世界！这是一个测试。',
  '🎉🚀👩‍💻👨‍👩‍👧‍👦🏳️‍🌈 emoji 😀😃😄',
  '🇫🇷🇯🇵 flags and ❤️ hearts',
  'Zalgo: Z̴͉̈́a̸̟͝l̵̝̾g̶̙̈́o̷͎͐',
  'function add(a, b) {\n  return a + b;\n}\n',
  'const x = { key: "value", list: [1, 2, 3] };',
  'def f(x):\n    if x > 0:\n        return x ** 2\n    return -x\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }',
  'SELECT * FROM users WHERE id = 7 AND name LIKE \'%a%\';',
  '<div class="x">text &amp; more</div>',
  'https://example.com/path?query=1&other=two#frag',
  'email@example.com, user.name+tag@domain.co.uk',
  '$HOME/.config/app/settings.json',
  '!!!???...,,,;;;:::',
  '---===+++***///\\\\\\',
  '(((nested)))[[[brackets]]]{{{braces}}}',
  '<|end_of_text|>',
  '<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>',
  'text <|pad|> more <|unk|> text',
  '<|start_of_role|',
  '|end_of_role|>',
  '<|tool_call|>{"name": "f"}',
  '<fim_prefix>def<fim_suffix>pass<fim_middle>',
  'Quantization of Mamba numbers in Paris',
  'JSON JSONJSON json Json',
  'HelloHello Hello  Hello',
  'a\u00a0non-breaking\u2003em space\u200bzero-width',
  'mixed\u3000ideographic space',
  '\u0000null byte and \u0007 bell',
  'ſ ß ẞ ﬁ ligatures',
  'Ⅻ ½ ² ³ ① superscripts',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz',
  "don't can't won't shouldn't y'all",
  'a1b2c3d4e5 1a2b3c',
  '\u{10FFFF}\u{1F600}\u{E000} private and max code points',
  'ok.\n\n\nNew paragraph.  Two spaces.',
  ' \n \n leading newline mix',
];

const POOL = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...'       \n\n\t\r',
  ...".,;:!?'\"()[]{}<>|/\\-_=+*&^%$#@~`",
  'é', 'ü', 'ñ', 'ø', 'ß', 'д', 'ж', 'λ', 'Ω', 'א', 'ع', '中', '文', '字', '日', '本', 'ア', 'ン', '한', '글',
  '😀', '🎉', '👍🏽', '🚀', '❤️', '👩‍💻',
  "'s", "'LL", "'re", '<|end_of_text|>', '<|start_of_role|>', '<|pad|>', '123', '4567', 'the', ' the', 'Mamba', 'Quant',
];


/** The corpus: the hand-picked strings, then `randomCount` random ones. */
export function tokenizerCorpus(randomCount = 200): string[] {
  const rand = rng(20251127);
  const out = [...HAND];
  for (let i = 0; i < randomCount; i++) {
    const len = 1 + Math.floor(rand() * 40);
    let s = '';
    for (let k = 0; k < len; k++) s += POOL[Math.floor(rand() * POOL.length)];
    out.push(s);
  }
  return out;
}
