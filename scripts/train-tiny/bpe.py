"""A small byte-level BPE (GPT-2 byte alphabet, Granite's cl100k-style
pre-tokenizer split): trainer, encoder, and the tokenizer.json /
tokenizer_config.json writers.

Vocabulary layout: ids 0..255 are the single bytes (id = byte value), then
one token per merge in merge order, then Granite 4.0's 28 added tokens in
Granite's order.
"""
import heapq
import json
from collections import Counter, defaultdict

import regex

# Granite 4.0's pre-tokenizer split (tokenizer.json syntax, identical in Python's `regex`).
SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
         "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
SPLIT_RE = regex.compile(SPLIT)

# Granite 4.0-H added tokens, in Granite's id order; True = special (skipped when decoding).
ADDED_TOKENS = [
    ("<|pad|>", True), ("<|end_of_text|>", True), ("<|fim_prefix|>", False), ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False), ("<|fim_pad|>", False), ("<|filename|>", False), ("<|reponame|>", False),
    ("<|start_of_role|>", True), ("<|end_of_role|>", True), ("<|unused_1|>", True), ("<|start_of_plugin|>", True),
    ("<|end_of_plugin|>", True), ("<|unk|>", True), ("<tool_call>", False), ("</tool_call>", False),
    ("<tool_response>", False), ("</tool_response>", False), ("<think>", False), ("</think>", False),
    ("<think_on>", True), ("<think_off>", True), ("<schema>", True), ("</schema>", True),
    ("<tools>", True), ("</tools>", True), ("<documents>", True), ("</documents>", True),
]


def byte_chars():
    """GPT-2 byte-level alphabet: byte b -> the character that stands for it."""
    printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    extra = 0
    out = []
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


BYTE_CHARS = byte_chars()


def pieces(text):
    """Pre-tokenized pieces of `text`, each as a tuple of byte-level characters."""
    return [tuple(BYTE_CHARS[b] for b in m.encode("utf-8")) for m in SPLIT_RE.findall(text)]


def train(docs, n_merges):
    """Learns `n_merges` merges from `docs`. Ties break on the smaller pair."""
    counts = Counter()
    for d in docs:
        counts.update(pieces(d))
    words = [list(w) for w in counts]
    freq = list(counts.values())
    pair_count = defaultdict(int)
    where = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += freq[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg or -neg <= 0:
            continue
        merges.append(pair)
        merged = pair[0] + pair[1]
        touched = set()
        for i in list(where[pair]):
            w = words[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= freq[i]
                touched.add(p)
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += freq[i]
                where[p].add(i)
                touched.add(p)
        del pair_count[pair]
        del where[pair]
        for p in touched:
            if p != pair and pair_count.get(p, 0) > 0:
                heapq.heappush(heap, (-pair_count[p], p))
    return merges


class Encoder:
    """Byte-level BPE encoder over a merge list (lowest rank merges first)."""

    def __init__(self, merges):
        self.rank = {p: r for r, p in enumerate(merges)}
        self.vocab = {c: b for b, c in enumerate(BYTE_CHARS)}
        for r, (a, b) in enumerate(merges):
            self.vocab[a + b] = 256 + r
        self.first_added = 256 + len(merges)
        self.added = {t: self.first_added + i for i, (t, _) in enumerate(ADDED_TOKENS)}
        self.added_re = regex.compile("|".join(regex.escape(t) for t, _ in ADDED_TOKENS))
        self.cache = {}
        self.id_to_text = {v: k for k, v in self.vocab.items()}
        self.byte_of = {c: b for b, c in enumerate(BYTE_CHARS)}

    @property
    def vocab_size(self):
        return self.first_added + len(ADDED_TOKENS)

    def _bpe(self, piece):
        hit = self.cache.get(piece)
        if hit is not None:
            return hit
        w = list(piece)
        while len(w) > 1:
            best = min(range(len(w) - 1), key=lambda j: self.rank.get((w[j], w[j + 1]), 1 << 30))
            if (w[best], w[best + 1]) not in self.rank:
                break
            pair = (w[best], w[best + 1])
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == pair:
                    out.append(w[j] + w[j + 1])
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            w = out
        ids = [self.vocab[t] for t in w]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        """Token ids of `text`; added tokens are matched whole first."""
        ids, pos = [], 0
        for m in self.added_re.finditer(text):
            ids += self._encode_plain(text[pos:m.start()])
            ids.append(self.added[m.group(0)])
            pos = m.end()
        return ids + self._encode_plain(text[pos:])

    def _encode_plain(self, text):
        ids = []
        for p in pieces(text):
            ids += self._bpe(p)
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            if i >= self.first_added:
                out += ADDED_TOKENS[i - self.first_added][0].encode("utf-8")
            else:
                out += bytes(self.byte_of[c] for c in self.id_to_text[i])
        return out.decode("utf-8", errors="replace")


def added_token_entries(first_id):
    return [{"id": first_id + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": special} for i, (t, special) in enumerate(ADDED_TOKENS)]


def tokenizer_json(merges):
    enc = Encoder(merges)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_token_entries(enc.first_added),
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": dict(sorted(enc.vocab.items(), key=lambda kv: kv[1])),
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def tokenizer_config(first_added, chat_template, max_length):
    decoder = {}
    for e in added_token_entries(first_added):
        decoder[str(e["id"])] = {k: e[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
    return {
        "add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>", "pad_token": "<|pad|>", "unk_token": "<|unk|>",
        "chat_template": chat_template, "clean_up_tokenization_spaces": False,
        "model_max_length": max_length, "tokenizer_class": "GPT2Tokenizer",
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
