"""The workshop family: a HuggingFace causal LM trained with `Trainer`.

Reproduces the workshop's set-up (docs/workshop.md §2-3): BLOOM
(bigscience/bloomz-560m by default, any hub id or local directory), the SQuAD
v1.1 prompt "Question: {q} Context: {c} Answer:", inputs and labels padded /
truncated to 512 tokens with label pad -100 (the labels are the answer's
tokens from position 0, not shifted behind the prompt: that is what the
workshop's script did and why its eval losses are ~9), the 1,000 / 100
subset shuffled with seed 42, fp16 (bf16 where the GPU supports it),
per-epoch evaluation, and exact match / token F1 on greedy generations
(50 new tokens) logged beside eval_loss.  DeepSpeed through
`TrainingArguments(deepspeed=...)` when importable.

`tiny-bloom` builds a small BloomConfig with random weights and a byte-level
tokenizer: no download.  When SQuAD is not available offline and the model
is tiny-bloom, it trains on the small corpus instead (causal LM on 512-byte
chunks, 1,000 train / 100 validation) and says so in the log and in every
report line ("dataset": "corpus").  Other models fail with a message on how
to pre-download SQuAD.

The contract (reports, checkpoints, decision points, preemption) stays in
train.py; this module calls it from a TrainerCallback.  Only rank 0 writes.
Checkpoints are HF directories: model (save_pretrained), optimizer.pt,
scheduler.pt, tunelab.json.  A restore loads weights and optimizer state and
then applies the NEW lr / weight decay; the linear schedule continues from
start_t.  Under DeepSpeed the optimizer is DeepSpeed's: a restore loads the
weights only (warned).  A preemption inside an epoch restarts that epoch on
restore (the HF data order cannot be resumed mid-epoch here).
"""
from __future__ import annotations

import json
import math
import os
import re
import string
import sys
import time
from collections import Counter
from typing import Any, Dict, List, Optional

from data import (DataError, REPO_ROOT, TASK_TRAIN_BYTES, load_corpus_bytes, load_squad, split_corpus, task_split,
                  workshop_subset)

DEFAULT_MODEL = "bigscience/bloomz-560m"
TINY = {"hidden_size": 256, "n_layer": 4, "n_head": 8}
DS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deepspeed")


# ------------------------------------------------------------ SQuAD metrics
def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lower, drop punctuation and articles, squeeze spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(pred: str, golds: List[str]) -> float:
    return max(float(normalize_answer(pred) == normalize_answer(g)) for g in golds)


def f1_score(pred: str, golds: List[str]) -> float:
    def one(g: str) -> float:
        p, t = normalize_answer(pred).split(), normalize_answer(g).split()
        common = Counter(p) & Counter(t)
        same = sum(common.values())
        if same == 0:
            return 0.0
        prec, rec = same / len(p), same / len(t)
        return 2 * prec * rec / (prec + rec)
    return max(one(g) for g in golds)


# ------------------------------------------------------------ byte tokenizer for tiny-bloom
class ByteTokenizer:
    """Bytes 0-255, pad 256, eos 257: tiny-bloom needs no tokenizer download."""
    pad_token_id = 256
    eos_token_id = 257
    vocab_size = 258

    def encode(self, text: str) -> List[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        return bytes(int(i) for i in ids if int(i) < 256).decode("utf-8", errors="ignore")


class HubTokenizer:
    def __init__(self, tok):
        self.tok = tok
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self.pad_token_id = tok.pad_token_id
        self.eos_token_id = tok.eos_token_id

    def encode(self, text: str) -> List[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)


def _pad(ids: List[int], n: int, pad: int) -> List[int]:
    ids = ids[:n]
    return ids + [pad] * (n - len(ids))


def prompt_of(row: Dict) -> str:
    return f"Question: {row['question']} Context: {row['context']} Answer:"


def answer_of(row: Dict) -> str:
    texts = (row.get("answers") or {}).get("text") or []
    return texts[0] if texts else "No Answer"


class ListDataset:
    """A torch-style map dataset over pre-tokenized, pre-padded examples."""

    def __init__(self, items: List[Dict[str, Any]]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        return self.items[i]


def squad_examples(rows: List[Dict], tok, max_len: int, torch) -> ListDataset:
    items = []
    for r in rows:
        inp = tok.encode(prompt_of(r))[:max_len]
        lab = tok.encode(answer_of(r))[:max_len]
        items.append({
            "input_ids": torch.tensor(_pad(inp, max_len, tok.pad_token_id)),
            "attention_mask": torch.tensor([1] * len(inp) + [0] * (max_len - len(inp))),
            "labels": torch.tensor(lab + [-100] * (max_len - len(lab))),
        })
    return ListDataset(items)


def corpus_examples(data: bytes, n: int, max_len: int, torch) -> ListDataset:
    """n chunks of max_len bytes spread evenly over data (deterministic)."""
    step = max(1, (len(data) - max_len - 1) // max(1, n - 1))
    items = []
    for i in range(n):
        o = min(i * step, len(data) - max_len - 1)
        ids = torch.tensor(list(data[o:o + max_len]))
        items.append({"input_ids": ids, "attention_mask": torch.ones(max_len, dtype=torch.long), "labels": ids.clone()})
    return ListDataset(items)


def resolve_deepspeed(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    for cand in (name, os.path.join(DS_DIR, name), os.path.join(DS_DIR, name + ".json"), os.path.join(REPO_ROOT, name)):
        if os.path.isfile(cand):
            return os.path.abspath(cand)
    raise DataError(f"deepspeed config not found: {name!r} (a path, or a name in {DS_DIR} such as 'zero3')")


# ------------------------------------------------------------ the run
def run(ctx) -> None:
    import torch
    try:
        import transformers
        from transformers import (BloomConfig, BloomForCausalLM, Trainer, TrainerCallback, TrainingArguments,
                                  default_data_collator)
    except ImportError:
        ctx.fail(f"model {ctx.model!r} needs the `transformers` package (pip install transformers), "
                 f"which is not importable by {sys.executable}")

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ctx.is_writer = rank == 0
    ctx.checkpoint_suffix = ""
    opts = ctx.options
    hp = ctx.hparams
    cuda = torch.cuda.is_available()
    torch.manual_seed(ctx.seed)

    # DeepSpeed: optional unless required
    ds_path = resolve_deepspeed(opts.get("deepspeed"))
    if ds_path:
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            if ctx.require_deepspeed:
                ctx.fail("deepspeed is not importable and --require-deepspeed / trainer.require_deepspeed is set")
            ctx.warn(f"deepspeed is not importable: running without it (config {ds_path} ignored)")
            ds_path = None

    # model + tokenizer
    restore = ctx.restore_path
    meta: Dict[str, Any] = {}
    if restore:
        if not os.path.isdir(restore) or not os.path.isfile(os.path.join(restore, "config.json")):
            ctx.fail(f"restore_from {restore} is not a HF checkpoint directory (config.json missing)")
        mp = os.path.join(restore, "tunelab.json")
        if os.path.isfile(mp):
            with open(mp) as f:
                meta = json.load(f)
    base = opts.get("base")
    if base and ctx.model != "tiny-bloom":
        ctx.fail(f"trainer.base is for tiny-bloom (a hub model such as {ctx.model!r} is pretrained already: name it as the model)")
    if base == "pretrained":
        # the base of src/trainer/pretrain.py: tiny-bloom pretrained on the corpus, built once, cached by content hash
        import pretrain
        t_base = time.monotonic()
        base = pretrain.ensure_base("tiny-bloom", {"steps": opts.get("base_steps"), "lr": opts.get("base_lr")},
                                    opts.get("base_corpus"), log=lambda m: print(f"[{ctx.trial_id}] {m}", file=sys.stderr, flush=True))
        ctx.base_prep_s = time.monotonic() - t_base
        ctx._waited += ctx.base_prep_s  # not this trial's training time
    if base and not os.path.isfile(os.path.join(str(base), "config.json")):
        ctx.fail(f"trainer.base {base!r} is not a HF model directory (config.json missing): use \"pretrained\" or a directory written by pretrain.py")
    if ctx.model == "tiny-bloom":
        tok = ByteTokenizer()
        if restore or base:
            model = BloomForCausalLM.from_pretrained(restore or base)
        else:
            size = {k: int(opts.get(k, v)) for k, v in TINY.items()}
            cfg = BloomConfig(vocab_size=tok.vocab_size, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                              bos_token_id=tok.eos_token_id, **size)
            model = BloomForCausalLM(cfg)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        try:
            tok = HubTokenizer(AutoTokenizer.from_pretrained(restore if restore and os.path.isfile(
                os.path.join(restore, "tokenizer_config.json")) else ctx.model))
            model = AutoModelForCausalLM.from_pretrained(restore or ctx.model)
        except Exception as e:  # offline hub / missing files: OSError and hub errors
            ctx.fail(f"cannot load model {ctx.model!r}: {type(e).__name__}: {(str(e).splitlines() or [''])[0]} "
                     f"(offline? pre-download it with HF_HOME set, or pass a local directory)")

    # data
    max_len = int(opts.get("max_length", 512))
    dataset_used = "squad"
    want = ctx.dataset
    try:
        if want in ("corpus", "task") or (want and want.endswith(".txt")):
            raise DataError("corpus requested")
        tr_rows, va_rows, src = load_squad(want)
        tr_rows, va_rows = workshop_subset(tr_rows, va_rows, int(opts.get("train_examples", 1000)),
                                           int(opts.get("eval_examples", 100)), 42)
        train_ds = squad_examples(tr_rows, tok, max_len, torch)
        eval_ds = squad_examples(va_rows, tok, max_len, torch)
        print(f"[{ctx.trial_id}] data: SQuAD v1.1 from {src}: {len(train_ds)} train / {len(eval_ds)} validation", flush=True)
    except DataError as e:
        explicit = want in ("corpus", "task") or (want and want.endswith(".txt"))
        if ctx.model != "tiny-bloom" and not explicit:
            raise
        if not explicit:
            ctx.warn(f"SQuAD unavailable ({e}); tiny-bloom falls back to the small corpus (causal LM on byte chunks)")
        if not isinstance(tok, ByteTokenizer):
            ctx.fail("the corpus fallback needs tiny-bloom's byte tokenizer")
        if want == "task":
            # the fine-tuning task (data.task_split): a small slice of Deuteronomy, which the base never saw
            tr, va = task_split(load_corpus_bytes(None), int(opts.get("task_train_bytes", TASK_TRAIN_BYTES)))
        else:
            tr, va = split_corpus(load_corpus_bytes(want if want and want.endswith(".txt") else None))
        train_ds = corpus_examples(tr, int(opts.get("train_examples", 1000)), max_len, torch)
        eval_ds = corpus_examples(va, int(opts.get("eval_examples", 100)), max_len, torch)
        va_rows, dataset_used = [], "task" if want == "task" else "corpus"
        print(f"[{ctx.trial_id}] data: corpus fallback (NOT SQuAD): {len(train_ds)} train / {len(eval_ds)} validation chunks of {max_len} bytes", flush=True)

    # precision
    precision = str(opts.get("precision", "auto"))
    bf16 = fp16 = False
    if ds_path:
        with open(ds_path) as f:
            fp16 = bool(json.load(f).get("fp16", {}).get("enabled", False))
    elif cuda and precision in ("auto", "bf16", "fp16"):
        if precision == "fp16" or (precision == "auto" and not torch.cuda.is_bf16_supported()):
            fp16 = True
        else:
            bf16 = True

    # optimizer + linear schedule continuing from start_t (not under DeepSpeed)
    bs = hp["batch_size"]
    spe = math.ceil(len(train_ds) / (bs * world))
    k = ctx.evals_per_epoch
    if ctx.eval_every_steps:
        ctx.fail(f"trainer.evalEvery {ctx.eval_every_steps} (steps) is for the small model; for {ctx.model!r} give a fraction of an epoch (0.25 = 4 evaluations per epoch)")

    def bound(t: int) -> int:  # optimizer steps done once evaluation t is reported
        return (t // k) * spe + round((t % k) * spe / k)
    total = bound(ctx.max_t)
    offset = bound(ctx.start_t)
    optimizers = (None, None)
    if not ds_path:
        if cuda:
            model.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
        no_decay = ("bias", "layernorm", "layer_norm", "ln_f")
        groups = [
            {"params": [p for n, p in model.named_parameters() if not any(x in n.lower() for x in no_decay)], "weight_decay": hp["weight_decay"]},
            {"params": [p for n, p in model.named_parameters() if any(x in n.lower() for x in no_decay)], "weight_decay": 0.0},
        ]
        opt = torch.optim.AdamW(groups, lr=hp["lr"], betas=(0.9, 0.999), eps=1e-8)
        if restore and os.path.isfile(os.path.join(restore, "optimizer.pt")):
            opt.load_state_dict(torch.load(os.path.join(restore, "optimizer.pt"), map_location="cpu"))
        for i, g in enumerate(opt.param_groups):  # the NEW hyperparameters take effect
            g["lr"] = hp["lr"]
            g["weight_decay"] = hp["weight_decay"] if i == 0 else 0.0
            g.pop("initial_lr", None)  # else LambdaLR would keep the old base lr
        sched_kind = str(opts.get("lr_schedule", "linear"))
        lam = (lambda s: 1.0) if sched_kind == "constant" else (lambda s: max(0.0, 1.0 - (offset + s) / max(1, total)))
        optimizers = (opt, torch.optim.lr_scheduler.LambdaLR(opt, lam))
    elif restore:
        ctx.warn("restore under DeepSpeed loads the model weights only; the optimizer state starts fresh")

    out_dir = os.path.join(ctx.dir, "hf")
    args_kw = dict(
        output_dir=out_dir, num_train_epochs=ctx.max_t - ctx.start_t, per_device_train_batch_size=bs,
        per_device_eval_batch_size=int(opts.get("eval_batch_size", 8)), learning_rate=hp["lr"],
        weight_decay=hp["weight_decay"], eval_strategy="epoch", save_strategy="no", logging_strategy="epoch",
        report_to="none", seed=ctx.seed, fp16=fp16, bf16=bf16, disable_tqdm=True, remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    if k > 1:
        # t counts evaluations: the Reporter asks for one at each interval's last step
        args_kw.update(max_steps=total - offset, eval_strategy="no", logging_strategy="no")
    if ds_path:
        args_kw["deepspeed"] = ds_path
    if not cuda:
        args_kw["use_cpu"] = True
    args = TrainingArguments(**args_kw)

    gen_n = int(opts.get("eval_generate", 100)) if dataset_used == "squad" else 0

    def gen_metrics(model_) -> Dict[str, float]:
        if gen_n <= 0 or not va_rows:
            return {}
        dev = next(model_.parameters()).device
        was = model_.training
        model_.eval()
        ems, f1s = [], []
        rows = va_rows[:gen_n]
        keep = max_len - 50
        with torch.no_grad():
            for i in range(0, len(rows), 16):
                chunk = rows[i:i + 16]
                enc = [tok.encode(prompt_of(r))[-keep:] for r in chunk]
                n = max(len(e) for e in enc)
                ids = torch.tensor([[tok.pad_token_id] * (n - len(e)) + e for e in enc], device=dev)
                mask = torch.tensor([[0] * (n - len(e)) + [1] * len(e) for e in enc], device=dev)
                out = model_.generate(input_ids=ids, attention_mask=mask, max_new_tokens=50, do_sample=False,
                                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                                      synced_gpus=bool(ds_path and world > 1))
                for r, o in zip(chunk, out):
                    pred = tok.decode(o[n:].tolist()).strip()
                    golds = (r.get("answers") or {}).get("text") or ["No Answer"]
                    ems.append(exact_match(pred, golds))
                    f1s.append(f1_score(pred, golds))
        model_.train(was)
        return {"exact_match": 100 * sum(ems) / len(ems), "f1": 100 * sum(f1s) / len(f1s)}

    def barrier() -> None:
        if world > 1 and torch.distributed.is_initialized():
            torch.distributed.barrier()

    class Reporter(TrainerCallback):
        """Turns HF's per-epoch evaluation into contract report lines."""

        def __init__(self):
            self.trainer = None
            self.preempting = False
            self.epoch_t0 = time.perf_counter()
            self.train_time = 0.0
            self.steps = 0
            self.train_loss = None
            self.next_t = ctx.start_t + 1

        def save(self, rel: str, t_done: int, epoch_step: int) -> None:
            tr = self.trainer

            def write(tmp: str) -> None:
                if ds_path:
                    tr.model_wrapped.save_checkpoint(tmp)  # every rank writes its shard
                    tr.save_model(tmp)
                elif ctx.is_writer:
                    os.makedirs(tmp, exist_ok=True)
                    tr.model.save_pretrained(tmp)
                    torch.save(tr.optimizer.state_dict(), os.path.join(tmp, "optimizer.pt"))
                    if tr.lr_scheduler is not None:
                        torch.save(tr.lr_scheduler.state_dict(), os.path.join(tmp, "scheduler.pt"))
                if ctx.is_writer:
                    if isinstance(tok, HubTokenizer):
                        tok.tok.save_pretrained(tmp)
                    with open(os.path.join(tmp, "tunelab.json"), "w") as f:
                        json.dump({"t": t_done, "epoch_step": epoch_step, "model": ctx.model,
                                   "hparams": dict(hp), "dataset": dataset_used}, f)
                barrier()
            ctx.atomic_save(write, rel)
            barrier()

        def on_train_begin(self, args, state, control, **kw):
            ctx.mark_started()
            self.epoch_t0 = time.perf_counter()

        def on_epoch_begin(self, args, state, control, **kw):
            if k == 1:
                self.epoch_t0 = time.perf_counter()
                self.steps = 0

        def on_step_end(self, args, state, control, **kw):
            self.steps += 1
            if k > 1 and offset + state.global_step == bound(self.next_t):
                self.train_time = time.perf_counter() - self.epoch_t0
                control.should_evaluate = True
                control.should_log = True
            flag = ctx._preempt
            if world > 1 and torch.distributed.is_initialized():
                x = torch.tensor([1.0 if flag else 0.0], device=next(kw["model"].parameters()).device)
                torch.distributed.all_reduce(x, op=torch.distributed.ReduceOp.MAX)
                flag = bool(x.item() > 0)
            if flag:
                self.preempting = True
                control.should_training_stop = True
                control.should_evaluate = False

        def on_epoch_end(self, args, state, control, **kw):
            self.train_time = time.perf_counter() - self.epoch_t0
            if self.preempting:
                control.should_evaluate = False

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                self.train_loss = logs["loss"]

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            if self.preempting or metrics is None:
                return
            t = ctx.start_t + int(round(state.epoch or 0)) if k == 1 else self.next_t
            self.next_t = t + 1
            m = kw.get("model") or self.trainer.model
            line = {
                "eval_loss": metrics.get("eval_loss"),
                "train_loss": self.train_loss,
                "tokens_per_s": (self.steps * bs * world * max_len) / self.train_time if self.train_time > 0 else None,
                "epoch_time_s": self.train_time,
                "eval_time_s": metrics.get("eval_runtime"),
                "lr": self.trainer.optimizer.param_groups[0]["lr"] if self.trainer.optimizer else None,
                "config_lr": hp["lr"],
                "weight_decay": hp["weight_decay"],
                "batch_size": bs,
                "steps": self.steps,
                "dataset": dataset_used,
                "model": ctx.model,
                "world_size": world,
                "precision": "bf16" if bf16 else "fp16" if fp16 else "fp32",
                "deepspeed": bool(ds_path),
            }
            if k > 1:
                line["epoch"] = round(bound(t) / spe, 4)  # epochs trained so far (t counts evaluations)
            line.update(gen_metrics(m))
            ctx.end_epoch(t, line, lambda rel: self.save(rel, t, 0), barrier)
            if k > 1:
                self.epoch_t0 = time.perf_counter()
                self.steps = 0

    rep = Reporter()
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                      data_collator=default_data_collator, callbacks=[rep], optimizers=optimizers)
    rep.trainer = trainer
    print(f"[{ctx.trial_id}] transformers {transformers.__version__}, torch {torch.__version__}, "
          f"cuda={cuda}, world={world}, params={sum(p.numel() for p in model.parameters())}, "
          f"steps/epoch={spe}", flush=True)
    trainer.train()
    if rep.preempting:
        ctx.preempt(lambda rel: rep.save(rel, ctx._last_t, rep.steps), partial_steps=rep.steps)
