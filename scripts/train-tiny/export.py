"""Exports the latest checkpoint of train.py: the Hugging Face directory
(config.json, F16 model.safetensors, tokenizer files) and the golden fixture
the tests compare hybridlm against (torch logits and held-out perplexity,
computed in float64 from exactly the exported F16 weights).

    /usr/bin/python3 scripts/train-tiny/export.py [--work DIR] [--out DIR] [--fixture DIR]

The GGUF files are written from the exported directory by export-gguf.ts.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see train.py
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from nano_model import CONFIG, NanoGraniteHybrid, parameter_count  # noqa: E402
from train import HERE, REPO  # noqa: E402

LOGITS_TOKENS = 512            # length of the logits case
LOGITS_ROWS = list(range(32)) + list(range(47, LOGITS_TOKENS, 16))
PPL_TOKENS = 2048              # length of the perplexity case
GREEDY_PROMPT = "The"
GREEDY_STEPS = 24


def write_safetensors(path, tensors):
    """F16 safetensors, tensors in name order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float16).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def heldout_stream(enc, work):
    with open(os.path.join(work, "heldout.txt"), encoding="utf-8") as f:
        docs = f.read().split("\n\n")
    eos = enc.added["<|end_of_text|>"]
    ids = []
    for d in docs:
        ids += enc.encode(d) + [eos]
    return ids


def router_margin(model, ids):
    """Smallest gap between the k-th and (k+1)-th router logit over all layers and positions."""
    margins = []

    def hook(mod, inp, out):
        top = out.topk(model.config["num_experts_per_tok"] + 1, dim=-1).values
        margins.append((top[..., -2] - top[..., -1]).min().item())

    hs = [layer.block_sparse_moe.router.layer.register_forward_hook(hook) for layer in model.model.layers]
    with torch.no_grad():
        model(torch.tensor([ids]))
    for h in hs:
        h.remove()
    return min(margins)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(REPO, "models/granite-h-nano"))
    ap.add_argument("--fixture", default=os.path.join(REPO, "test/fixtures/granite-h-nano"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.fixture, exist_ok=True)

    ck = torch.load(os.path.join(args.work, "ckpt.pt"))
    tok = json.load(open(os.path.join(args.work, "tokenizer.json"), encoding="utf-8"))
    merges = [tuple(m.split(" ")) for m in tok["model"]["merges"]]
    enc = bpe.Encoder(merges)
    eos, pad = enc.added["<|end_of_text|>"], enc.added["<|pad|>"]

    config = dict(CONFIG, bos_token_id=eos, eos_token_id=eos, pad_token_id=pad)
    state = {k: v.to(torch.float16) for k, v in ck["model"].items()}
    write_safetensors(os.path.join(args.out, "model.safetensors"), state)
    bpe.write_json(os.path.join(args.out, "config.json"), config)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(args.work, name), os.path.join(args.out, name))

    # The reference: float64 forward of exactly the F16 weights.
    model = NanoGraniteHybrid(config)
    model.load_state_dict({k: v.to(torch.float64) for k, v in state.items()})
    model = model.double().eval()
    ids = heldout_stream(enc, args.work)
    logits_ids, ppl_ids = ids[:LOGITS_TOKENS], ids[:PPL_TOKENS]
    with torch.no_grad():
        logits = model(torch.tensor([logits_ids]))[0][0]
        ppl_logits = model(torch.tensor([ppl_ids]))[0][0]
    nll = F.cross_entropy(ppl_logits[:-1], torch.tensor(ppl_ids[1:]), reduction="mean").item()
    rows = logits[LOGITS_ROWS].to(torch.float32).numpy()
    with open(os.path.join(args.fixture, "golden.bin"), "wb") as f:
        f.write(rows.astype("<f4").tobytes())

    # Greedy continuation of a prompt, with the smallest top-1 / top-2 gap on the way.
    seq = enc.encode(GREEDY_PROMPT)
    prompt_len, min_gap = len(seq), math.inf
    with torch.no_grad():
        for _ in range(GREEDY_STEPS):
            last = model(torch.tensor([seq]))[0][0, -1]
            top = last.topk(2).values
            min_gap = min(min_gap, (top[0] - top[1]).item())
            seq.append(int(last.argmax()))
    tokenizer_text = "In the beginning God created the heaven and the earth.\nHe's 12,000 strong; isn't it? 3.14159"
    golden = {
        "format_version": 1,
        "vocab_size": config["vocab_size"],
        "weights": "F16 (model.safetensors) = F16 matrices + F32 vectors (granite-h-nano-f16.gguf)",
        "reference": "torch float64 forward of the F16 weights (scripts/train-tiny/nano_model.py)",
        "trained_steps": ck["step"],
        "parameters": parameter_count(model),
        "logits": {"tokens": logits_ids, "rows": LOGITS_ROWS, "offset_floats": 0},
        "perplexity": {"tokens": ppl_ids, "mean_nll": nll, "perplexity": math.exp(nll)},
        "router_min_topk_margin": min(router_margin(model, logits_ids), router_margin(model, ppl_ids)),
        "greedy": {"prompt": GREEDY_PROMPT, "prompt_tokens": prompt_len, "tokens": seq,
                   "text": enc.decode(seq), "min_top2_gap": min_gap},
        "tokenizer_case": {"text": tokenizer_text, "ids": enc.encode(tokenizer_text)},
    }
    bpe.write_json(os.path.join(args.fixture, "golden.json"), golden)
    print(json.dumps({k: golden[k] for k in ("trained_steps", "parameters", "router_min_topk_margin")}))
    print("held-out perplexity", math.exp(nll), "nll", nll)
    print("greedy:", repr(golden["greedy"]["text"]), "min gap", min_gap)


if __name__ == "__main__":
    main()
