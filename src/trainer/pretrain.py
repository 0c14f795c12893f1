#!/usr/bin/env python3
"""Pretrain a base model once, for trials that fine-tune it (issue 15).

The workshop fine-tunes a pretrained model on a small task; offline we make
the pretrained model ourselves: `small` or `tiny-bloom` trained on the
corpus's pretraining part (Genesis-Numbers, data.pretrain_and_task), never on
the task (Deuteronomy).  The result is cached under a content hash of the
pretraining config, the pretraining text and this code, so every trial of an
experiment (and every later experiment) starts from the same weights and the
base is trained once: a trial with `trainer.options.base = "pretrained"`
calls ensure_base(), which builds it under a file lock when it is missing.

Usage:  python3 src/trainer/pretrain.py --model small|tiny-bloom [--steps N] [--lr X] [--cache DIR]
        prints the base directory (base.json there says what it is)

Cache: $TUNELAB_BASE_CACHE, else <repo>/.tunelab/base/<model>-<hash12>/.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import math
import os
import sys
import time
from typing import Any, Dict, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import REPO_ROOT, DataError, eval_offsets, load_corpus_bytes, pretrain_and_task, split_corpus, task_split  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "tunelab-base-v1"

# Pretraining settings.  small: lr 2.2e-3 is the measured best of the
# recorded CPU grid (data/curves/small-cpu.csv); 1,500 steps of 32 × 64 bytes
# take ~1 min on one CPU thread.  tiny-bloom: lr 1e-3 with warm-up and
# cosine decay, 3,000 steps of 32 × 256 bytes (seconds on a GPU).
DEFAULTS: Dict[str, Dict[str, Any]] = {
    "small": {"steps": 1500, "batch_size": 32, "lr": 2.2e-3, "seq_len": 64, "d_model": 96, "n_layer": 2, "n_head": 4, "seed": 0},
    "tiny-bloom": {"steps": 3000, "batch_size": 32, "lr": 1e-3, "max_length": 256, "hidden_size": 256, "n_layer": 4, "n_head": 8,
                   "warmup": 100, "seed": 0},
}
# What the base depends on: this file, the data split, and the model's definition
# (not the fine-tuning loop, so editing that does not re-pretrain).
def _code(model: str) -> bytes:
    import inspect
    import data
    parts = [inspect.getsource(sys.modules[__name__]), inspect.getsource(data.split_corpus),
             inspect.getsource(data.pretrain_and_task), inspect.getsource(data.eval_offsets)]
    if model == "small":
        import small_lm
        parts += [inspect.getsource(small_lm.Block), inspect.getsource(small_lm.ByteLM)]
    else:
        import hf_family
        parts += [inspect.getsource(hf_family.ByteTokenizer)]
    return "\n".join(parts).encode()


def base_config(model: str, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    if model not in DEFAULTS:
        raise DataError(f"pretraining knows models {', '.join(DEFAULTS)}, got {model!r}")
    cfg = dict(DEFAULTS[model])
    for k, v in (overrides or {}).items():
        if k in cfg and v is not None:
            cfg[k] = type(cfg[k])(v)
    return cfg


def content_key(model: str, cfg: Dict[str, Any], corpus: Optional[str]) -> str:
    """sha256 of (model, config, pretraining text, code): a change to any re-trains."""
    h = hashlib.sha256()
    h.update(json.dumps({"model": model, "cfg": cfg, "format": FORMAT}, sort_keys=True).encode())
    pre, _ = pretrain_and_task(load_corpus_bytes(corpus))
    h.update(pre)
    h.update(_code(model))
    return h.hexdigest()


def cache_root(cache: Optional[str] = None) -> str:
    return cache or os.environ.get("TUNELAB_BASE_CACHE") or os.path.join(REPO_ROOT, ".tunelab", "base")


def ensure_base(model: str, overrides: Optional[Dict[str, Any]] = None, corpus: Optional[str] = None,
                cache: Optional[str] = None, log=lambda s: None) -> str:
    """The base directory for (model, config); pretrains it (once, under a lock) when missing."""
    cfg = base_config(model, overrides)
    key = content_key(model, cfg, corpus)
    root = cache_root(cache)
    out = os.path.join(root, f"{model}-{key[:12]}")
    done = os.path.join(out, "base.json")
    if os.path.isfile(done):
        return out
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f".{model}-{key[:12]}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent trials: one pretrains, the others wait and reuse
        if os.path.isfile(done):
            return out
        log(f"pretraining base {model} ({cfg['steps']} steps) into {out}")
        tmp = out + ".tmp"
        os.makedirs(tmp, exist_ok=True)
        t0 = time.perf_counter()
        info = (pretrain_small if model == "small" else pretrain_tiny_bloom)(cfg, corpus, tmp)
        info.update({"format": FORMAT, "model": model, "config": cfg, "key": key, "seconds": round(time.perf_counter() - t0, 2)})
        with open(os.path.join(tmp, "base.json"), "w") as f:
            json.dump(info, f, indent=1)
        if os.path.isdir(out):
            import shutil
            shutil.rmtree(out)
        os.replace(tmp, out)
        log(f"base ready in {info['seconds']} s: pretrain eval {info['pretrain_eval_loss']:.4f}, task eval {info['task_eval_loss']:.4f}")
    return out


def _windows(torch, data, offsets, n: int):
    return torch.stack([data[o:o + n + 1] for o in offsets]).long()


def pretrain_small(cfg: Dict[str, Any], corpus: Optional[str], out: str) -> Dict[str, Any]:
    import random
    import torch
    import torch.nn.functional as F
    from small_lm import ByteLM
    torch.set_num_threads(int(os.environ.get("TUNELAB_THREADS") or 2))
    torch.manual_seed(cfg["seed"])
    raw = load_corpus_bytes(corpus)
    pre, _ = pretrain_and_task(raw)
    tr_b, va_b = split_corpus(pre)
    _, tva_b = task_split(raw)
    tr = torch.frombuffer(bytearray(tr_b), dtype=torch.uint8)
    n = cfg["seq_len"]
    model = ByteLM(n, cfg["d_model"], cfg["n_layer"], cfg["n_head"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.0)
    rng = random.Random(cfg["seed"])
    model.train()
    for _ in range(cfg["steps"]):
        b = _windows(torch, tr, [rng.randrange(0, len(tr) - n - 1) for _ in range(cfg["batch_size"])], n)
        loss = F.cross_entropy(model(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def ev(text: bytes) -> float:
        d = torch.frombuffer(bytearray(text), dtype=torch.uint8)
        w = _windows(torch, d, eval_offsets(len(d), n, 96), n)
        model.eval()
        with torch.no_grad():
            return float(F.cross_entropy(model(w[:, :-1]).reshape(-1, 256), w[:, 1:].reshape(-1)))
    opts = {k: cfg[k] for k in ("seq_len", "d_model", "n_layer", "n_head")}
    torch.save({"format": FORMAT, "model": model.state_dict(), "model_options": opts}, os.path.join(out, "base.pt"))
    return {"pretrain_eval_loss": ev(va_b), "task_eval_loss": ev(tva_b)}


def pretrain_tiny_bloom(cfg: Dict[str, Any], corpus: Optional[str], out: str) -> Dict[str, Any]:
    import random
    import torch
    from transformers import BloomConfig, BloomForCausalLM
    from hf_family import ByteTokenizer
    torch.manual_seed(cfg["seed"])
    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    raw = load_corpus_bytes(corpus)
    pre, _ = pretrain_and_task(raw)
    tr_b, va_b = split_corpus(pre)
    _, tva_b = task_split(raw)
    tok = ByteTokenizer()
    model = BloomForCausalLM(BloomConfig(vocab_size=tok.vocab_size, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                                         bos_token_id=tok.eos_token_id, hidden_size=cfg["hidden_size"], n_layer=cfg["n_layer"],
                                         n_head=cfg["n_head"])).to(dev)
    tr = torch.frombuffer(bytearray(tr_b), dtype=torch.uint8)
    n = cfg["max_length"]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.0)
    steps, warm = cfg["steps"], cfg["warmup"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    rng = random.Random(cfg["seed"])
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    model.train()
    for _ in range(steps):
        b = _windows(torch, tr, [rng.randrange(0, len(tr) - n - 1) for _ in range(cfg["batch_size"])], n - 1).to(dev)
        with amp:
            loss = model(input_ids=b, labels=b).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    def ev(text: bytes) -> float:
        d = torch.frombuffer(bytearray(text), dtype=torch.uint8)
        w = _windows(torch, d, eval_offsets(len(d), n - 1, 64), n - 1).to(dev)
        model.eval()
        with torch.no_grad(), amp:
            return float(sum(model(input_ids=w[i:i + 16], labels=w[i:i + 16]).loss for i in range(0, len(w), 16)) / math.ceil(len(w) / 16))
    model.save_pretrained(out)
    return {"pretrain_eval_loss": ev(va_b), "task_eval_loss": ev(tva_b)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="pretrain tunelab's base model once (cached by content hash)")
    ap.add_argument("--model", required=True, choices=sorted(DEFAULTS))
    ap.add_argument("--steps", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--corpus", help="corpus text file (default: the shipped one)")
    ap.add_argument("--cache", help="cache directory (default $TUNELAB_BASE_CACHE or .tunelab/base)")
    a = ap.parse_args(argv)
    try:
        path = ensure_base(a.model, {"steps": a.steps, "lr": a.lr}, a.corpus, a.cache, log=lambda s: print(s, file=sys.stderr, flush=True))
    except DataError as e:
        sys.stderr.write(f"tunelab-pretrain: error: {e}\n")
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
