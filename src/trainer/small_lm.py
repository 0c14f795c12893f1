"""The small family: a byte-level causal transformer LM on the shipped corpus.

Why this model: it is the embedded default, so it must run on two CPU cores
in seconds per epoch with Debian's torch 1.13, and its learning curves must
respond to the three hyperparameters the workshop tunes (lr, weight decay,
batch size).  Bytes (vocab 256) avoid any tokenizer; a 2-layer transformer
(d_model 96) is small enough to be fast and large enough to learn
words.  The learning rate is constant (no schedule) so that a restored trial
with a new lr trains at exactly that lr (PBT's explore step).

One epoch = a fixed token budget (`tokens_per_epoch`), so a larger batch
means fewer, less noisy updates per epoch and the wall time per epoch stays
roughly constant across batch sizes; `steps_per_epoch` overrides it.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any, Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from data import TASK_TRAIN_BYTES, eval_offsets, epoch_offsets, load_corpus_bytes, split_corpus, task_split

FORMAT = "tunelab-small-v1"

DEFAULTS: Dict[str, Any] = {
    "seq_len": 64,
    "d_model": 96,
    "n_layer": 2,
    "n_head": 4,
    "dropout": 0.0,
    "tokens_per_epoch": 65536,   # 64 steps of bs 16 × 64 tokens
    "steps_per_epoch": None,     # overrides tokens_per_epoch when set
    "eval_windows": 96,          # × seq_len bytes of validation text
    "threads": 1,
    "task_train_bytes": TASK_TRAIN_BYTES,  # dataset "task": the fine-tuning set's size
}
MODEL_KEYS = ("seq_len", "d_model", "n_layer", "n_head")
REPORTS = ("eval_loss", "eval_ppl", "train_loss", "tokens_per_s", "lr")


class Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.heads = heads
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        h = self.heads
        q = q.view(b, n, h, d // h).transpose(1, 2)
        k = k.view(b, n, h, d // h).transpose(1, 2)
        v = v.view(b, n, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
        att = att.masked_fill(mask[:n, :n], float("-inf")).softmax(dim=-1)
        y = (self.drop(att) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.mlp(self.ln2(x)))


class ByteLM(nn.Module):
    def __init__(self, seq_len: int, d_model: int, n_layer: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"trainer.d_model ({d_model}) must be a multiple of trainer.n_head ({n_head})")
        self.tok = nn.Embedding(256, d_model)
        self.pos = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_head, dropout) for _ in range(n_layer)])
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 256, bias=False)
        self.register_buffer("mask", torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), 1), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        # GPT-style small init: keeps the first loss near ln(256) and
        # training stable at the learning rates a workshop explores.
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        n = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(n))
        for blk in self.blocks:
            x = blk(x, self.mask)
        return self.head(self.ln(x))


def _windows(data: torch.Tensor, offsets, seq_len: int) -> torch.Tensor:
    return torch.stack([data[o:o + seq_len + 1] for o in offsets]).long()


def load_base(ctx, opts: Dict[str, Any]):
    """The base checkpoint named by trainer.options.base, or None.

    "pretrained": the cached base of pretrain.py (built once when missing);
    else a directory holding base.pt, or a .pt file, written by pretrain.py.
    """
    base = ctx.options.get("base")
    if not base:
        return None
    if base == "pretrained":
        import sys as _sys
        import pretrain
        ov = {"steps": ctx.options.get("base_steps"), "lr": ctx.options.get("base_lr")}
        base = pretrain.ensure_base("small", ov, ctx.options.get("base_corpus"),
                                    log=lambda m: print(f"[{ctx.trial_id}] {m}", file=_sys.stderr, flush=True))
    p = os.path.join(base, "base.pt") if os.path.isdir(base) else base
    if not os.path.isfile(p):
        ctx.fail(f"trainer.base {base!r}: no base.pt there (use \"pretrained\" or a directory written by src/trainer/pretrain.py)")
    ck = torch.load(p, map_location="cpu")
    if not isinstance(ck, dict) or ck.get("format") != "tunelab-base-v1":
        ctx.fail(f"trainer.base {p}: not a small-model base (format {ck.get('format') if isinstance(ck, dict) else None!r}, expected 'tunelab-base-v1')")
    return ck


def step_bound(t: int, steps: int, k: int, every) -> int:
    """Optimizer steps done once evaluation t is reported (t counts evaluations)."""
    if every:
        return t * every
    return (t // k) * steps + round((t % k) * steps / k)


def run(ctx) -> None:
    """Train evaluations start_t+1 .. max_t, reporting through ctx (train.py)."""
    opts = dict(DEFAULTS)
    for k, v in ctx.options.items():
        if k in DEFAULTS:
            opts[k] = v
    threads = int(os.environ.get("TUNELAB_THREADS", opts["threads"]))
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(ctx.seed)

    raw = load_corpus_bytes(ctx.dataset if ctx.dataset not in (None, "task") else None)
    if ctx.dataset == "task":
        # the fine-tuning task: a small slice of a book the base never saw (data.task_split)
        train_b, val_b = task_split(raw, int(opts["task_train_bytes"]))
    else:
        train_b, val_b = split_corpus(raw)
    train = torch.frombuffer(bytearray(train_b), dtype=torch.uint8)
    val = torch.frombuffer(bytearray(val_b), dtype=torch.uint8)

    t_base = time.monotonic()
    base = load_base(ctx, opts)
    ctx.base_prep_s = time.monotonic() - t_base
    ctx._waited += ctx.base_prep_s  # pretraining the base (once) is not this trial's training time
    ckpt = ctx.load_restore(lambda p: torch.load(p, map_location="cpu"))
    if ckpt is not None:
        if ckpt.get("format") != FORMAT:
            ctx.fail(f"restore_from is not a small-model checkpoint (format {ckpt.get('format')!r}, expected {FORMAT!r})")
    arch = ckpt if ckpt is not None else base
    if arch is not None:
        for k in MODEL_KEYS:  # the architecture comes from the checkpoint (or the base)
            if k in ctx.options and ctx.options[k] != arch["model_options"][k]:
                ctx.warn(f"trainer.{k}={ctx.options[k]} ignored: the checkpoint has {arch['model_options'][k]}")
            opts[k] = arch["model_options"][k]

    seq_len = int(opts["seq_len"])
    model = ByteLM(seq_len, int(opts["d_model"]), int(opts["n_layer"]), int(opts["n_head"]), float(opts["dropout"]))
    if ckpt is None and base is not None:
        model.load_state_dict(base["model"])  # fine-tuning: pretrained weights, a fresh optimizer
    hp = ctx.hparams
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    resume_frac = 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        # The contract: the NEW hyperparameters take effect after a restore.
        for g in opt.param_groups:
            g["lr"] = hp["lr"]
            g["weight_decay"] = hp["weight_decay"]
        if ckpt.get("t") == ctx.start_t and ckpt.get("epoch_step", 0) > 0:
            # preempted inside an evaluation interval: continue at the same fraction of it
            resume_frac = ckpt["epoch_step"] / max(1, ckpt["steps_in_epoch"])

    bs = hp["batch_size"]
    steps = int(opts["steps_per_epoch"]) if opts["steps_per_epoch"] else max(1, math.ceil(int(opts["tokens_per_epoch"]) / (bs * seq_len)))
    k, every = ctx.evals_per_epoch, ctx.eval_every_steps
    ev = _windows(val, eval_offsets(len(val), seq_len, int(opts["eval_windows"])), seq_len)

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            losses = []
            for i in range(0, len(ev), 64):
                b = ev[i:i + 64]
                losses.append(F.cross_entropy(model(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1), reduction="sum"))
            loss = float(torch.stack(losses).sum()) / (len(ev) * seq_len)
        model.train()
        return loss

    def save(rel: str, t_done: int, part: int, chunk: int) -> None:
        # epoch_step / steps_in_epoch: the position inside the interval after t_done
        # (with one evaluation per epoch, inside the epoch: the old meaning)
        ctx.atomic_save(lambda p: torch.save({
            "format": FORMAT, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "t": t_done, "epoch_step": part, "steps_in_epoch": chunk,
            "hparams": dict(hp), "model_options": {k_: opts[k_] for k_ in MODEL_KEYS},
        }, p), rel)

    offs_epoch, offs = 0, []
    model.train()
    ctx.mark_started()
    for t in range(ctx.start_t + 1, ctx.max_t + 1):
        lo, hi = step_bound(t - 1, steps, k, every), step_bound(t, steps, k, every)
        first = lo + min(hi - lo, round(resume_frac * (hi - lo)))
        resume_frac = 0.0
        t0 = time.perf_counter()
        loss_sum, n_loss, tokens = 0.0, 0, 0
        for g in range(first, hi):
            e, s = g // steps + 1, g % steps
            if e != offs_epoch:  # the epoch's windows: a function of (seed, epoch) only
                offs_epoch, offs = e, epoch_offsets(len(train), seq_len, steps * bs, ctx.seed, e)
            batch = _windows(train, offs[s * bs:(s + 1) * bs], seq_len)
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, 256), batch[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss)
            n_loss += 1
            tokens += bs * seq_len
            if ctx.preempt_requested():
                # finish the step (done), checkpoint inside the interval, report, exit 0
                ctx.preempt(lambda rel: save(rel, t - 1, g + 1 - lo, hi - lo), partial_steps=g + 1 - lo)
        train_time = time.perf_counter() - t0
        eval_loss = evaluate()
        metrics = {
            "eval_loss": eval_loss,
            "eval_ppl": math.exp(eval_loss) if eval_loss < 50 else float("inf"),
            "train_loss": loss_sum / max(1, n_loss),
            "tokens_per_s": tokens / train_time if train_time > 0 else None,
            "epoch_time_s": train_time,
            "lr": opt.param_groups[0]["lr"],
            "weight_decay": opt.param_groups[0]["weight_decay"],
            "batch_size": bs,
            "steps": n_loss,
        }
        if k > 1 or every:
            metrics["epoch"] = round(hi / steps, 4)  # epochs trained so far (t counts evaluations)
        ctx.end_epoch(t, metrics, lambda rel: save(rel, t, 0, hi - lo))
