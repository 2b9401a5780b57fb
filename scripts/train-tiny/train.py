"""Trains granite-h-nano: tokenizer, then the model, checkpointing as it goes.

    nice -n 15 /usr/bin/python3 scripts/train-tiny/train.py [--steps N] [--work DIR]

Seeded and resumable: rerunning continues from DIR/ckpt.pt. Every checkpoint
is a usable model (export.py exports the latest one).
"""
import argparse
import json
import math
import os
import random
import sys
import time

# One thread: on a busy shared machine, a second BLAS/OpenMP thread spends its
# time waiting at barriers for the descheduled first one (measured ~20x slower).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import corpus  # noqa: E402
from nano_model import CONFIG, NanoGraniteHybrid, parameter_count  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SEED = 1234
DEFAULT_SYSTEM = "You are a helpful assistant. Please ensure responses are professional, accurate, and safe."


def chat_doc(user, assistant):
    """One exchange as Granite's chat template renders it (default system prompt)."""
    turn = lambda role, text: f"<|start_of_role|>{role}<|end_of_role|>{text}<|end_of_text|>\n"  # noqa: E731
    return turn("system", DEFAULT_SYSTEM) + turn("user", user) + turn("assistant", assistant)


def build_tokenizer(train_docs, work):
    n_merges = CONFIG["vocab_size"] - 256 - len(bpe.ADDED_TOKENS)
    merges = bpe.train(train_docs, n_merges)
    if len(merges) != n_merges:
        raise RuntimeError(f"only {len(merges)} merges learned, need {n_merges}")
    with open(os.path.join(REPO, "test/fixtures/chat-template/granite-4.0.jinja"), encoding="utf-8") as f:
        template = f.read()
    bpe.write_json(os.path.join(work, "tokenizer.json"), bpe.tokenizer_json(merges))
    bpe.write_json(os.path.join(work, "tokenizer_config.json"),
                   bpe.tokenizer_config(256 + n_merges, template, CONFIG["max_position_embeddings"]))
    return bpe.Encoder(merges)


def training_stream(enc, train_docs):
    """Token ids: chapters in a seeded order, each ended by <|end_of_text|>, with
    one chat exchange (a verse, then the next two) after every fourth chapter."""
    rng = random.Random(SEED)
    docs = list(train_docs)
    rng.shuffle(docs)
    eos = enc.added["<|end_of_text|>"]
    ids = []
    for i, d in enumerate(docs):
        ids += enc.encode(d) + [eos]
        if i % 4 == 0:
            verses = d.split("\n")
            if len(verses) >= 3:
                k = rng.randrange(len(verses) - 2)
                ids += enc.encode(chat_doc(verses[k], " ".join(verses[k + 1:k + 3])))
    return torch.tensor(ids, dtype=torch.long)


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--ckpt-every", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)

    train_docs, heldout_docs = corpus.split_corpus()
    enc = build_tokenizer(train_docs, args.work)
    stream = training_stream(enc, train_docs)
    with open(os.path.join(args.work, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(heldout_docs))
    print(f"train tokens {len(stream)}, held-out chapters {len(heldout_docs)}", flush=True)

    model = NanoGraniteHybrid(CONFIG)
    print(f"parameters {parameter_count(model)}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(SEED)
    step = 0
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step = ck["step"]
        print(f"resumed at step {step}", flush=True)

    log = open(os.path.join(args.work, "train-log.jsonl"), "a")
    t0 = time.time()
    while step < args.steps:
        starts = torch.randint(0, len(stream) - args.seq - 1, (args.batch,), generator=gen)
        batch = torch.stack([stream[s:s + args.seq + 1] for s in starts.tolist()])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        logits, aux = model(batch[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        loss = ce + CONFIG["router_aux_loss_coef"] * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        rec = {"step": step, "ce": round(ce.item(), 4), "aux": round(float(aux), 4),
               "lr": round(opt.param_groups[0]["lr"], 6), "elapsed_s": round(time.time() - t0, 1)}
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if step % 10 == 0:
            print(rec, flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            tmp = ckpt_path + ".tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step,
                        "args": vars(args)}, tmp)
            os.replace(tmp, ckpt_path)
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
