"""Data loading for both model families.

Why a module of its own: the trial contract (train.py) must not care where
text comes from, and the two families share the corpus (the small model
trains on it; tiny-bloom falls back to it when SQuAD is not available
offline).  Everything here is deterministic: the corpus split never depends
on a seed, training batches depend only on (seed, t), evaluation windows on
nothing at all, so every trial of an experiment is scored on the same text.
"""
from __future__ import annotations

import json
import os
import random
from typing import Dict, List, Optional, Tuple

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_CORPUS = os.path.join(REPO_ROOT, "data", "corpus", "kjv-pentateuch.txt")

# Fixed split: bytes are cut into blocks of BLOCK; block i is validation when
# i % VAL_EVERY == VAL_EVERY - 1.  Interleaving keeps both splits from the same
# books (a contiguous tail would make validation one book only).
BLOCK = 4096
VAL_EVERY = 10


class DataError(Exception):
    """Bad or missing data; train.py turns it into a one-line message and exit 2."""


def resolve_path(path: str) -> str:
    """A dataset path as given: absolute, or relative to the cwd, else to the repo root."""
    if os.path.isabs(path):
        return path
    if os.path.exists(path):
        return os.path.abspath(path)
    return os.path.join(REPO_ROOT, path)


def load_corpus_bytes(path: Optional[str]) -> bytes:
    p = resolve_path(path) if path else DEFAULT_CORPUS
    if not os.path.isfile(p):
        raise DataError(f"dataset not found: {p} (trainer.dataset must be a text file; default {DEFAULT_CORPUS})")
    with open(p, "rb") as f:
        data = f.read()
    if len(data) < 4 * BLOCK * VAL_EVERY // 2:
        raise DataError(f"dataset too small: {p} has {len(data)} bytes, need at least {2 * BLOCK * VAL_EVERY}")
    return data


def split_corpus(data: bytes) -> Tuple[bytes, bytes]:
    """(train, validation) bytes with the fixed interleaved block split."""
    train, val = [], []
    for i in range(0, len(data), BLOCK):
        (val if (i // BLOCK) % VAL_EVERY == VAL_EVERY - 1 else train).append(data[i:i + BLOCK])
    return b"".join(train), b"".join(val)


def epoch_offsets(n_bytes: int, window: int, count: int, seed: int, t: int) -> List[int]:
    """Random window starts for epoch t (1-based): a function of (seed, t) only,
    so a trial restored at start_t sees exactly the data it would have seen."""
    rng = random.Random(seed * 1_000_003 + t)
    hi = n_bytes - window - 1
    return [rng.randrange(0, hi) for _ in range(count)]


def eval_offsets(n_bytes: int, window: int, count: int) -> List[int]:
    """Evenly spaced evaluation windows: the same for every trial and seed."""
    hi = n_bytes - window - 1
    if count <= 1:
        return [0]
    return [round(i * hi / (count - 1)) for i in range(count)]


# ---------------------------------------------------------------- SQuAD v1.1

def _squad_rows_from_json(path: str) -> List[Dict]:
    """Rows {id, question, context, answers: {text: [...]}} from the official
    SQuAD v1.1 JSON (train-v1.1.json / dev-v1.1.json) or JSON lines of rows."""
    with open(path, "r", encoding="utf-8") as f:
        head = f.read(1)
        f.seek(0)
        if path.endswith(".jsonl"):
            return [json.loads(line) for line in f if line.strip()]
        doc = json.load(f)
    if isinstance(doc, list):
        return doc
    rows = []
    for article in doc.get("data", []):
        for para in article.get("paragraphs", []):
            for qa in para.get("qas", []):
                rows.append({
                    "id": qa.get("id"),
                    "question": qa["question"],
                    "context": para["context"],
                    "answers": {"text": [a["text"] for a in qa.get("answers", [])]},
                })
    del head
    return rows


def _find_local_squad(path: str) -> Optional[Tuple[str, str]]:
    p = resolve_path(path)
    if os.path.isdir(p):
        for tr, va in (("train-v1.1.json", "dev-v1.1.json"), ("train.jsonl", "validation.jsonl"),
                       ("train.json", "validation.json")):
            if os.path.isfile(os.path.join(p, tr)) and os.path.isfile(os.path.join(p, va)):
                return os.path.join(p, tr), os.path.join(p, va)
    return None


HOW_TO_GET_SQUAD = (
    "SQuAD v1.1 is not available offline. Pre-download it on a machine with internet: "
    "either `python -c \"import datasets; datasets.load_dataset('squad')\"` with HF_HOME pointing at a "
    "shared directory (then set HF_HOME and HF_DATASETS_OFFLINE=1 for the trials), or download "
    "train-v1.1.json and dev-v1.1.json from the SQuAD site into a directory and set trainer.dataset to it"
)


def load_squad(dataset: Optional[str]) -> Tuple[List[Dict], List[Dict], str]:
    """(train rows, validation rows, source description).

    Order: a local directory (trainer.dataset), else HF `datasets`
    (hub or HF_HOME cache).  Raises DataError with HOW_TO_GET_SQUAD otherwise.
    """
    if dataset and dataset not in ("squad", "rajpurkar/squad"):
        found = _find_local_squad(dataset)
        if found is None:
            raise DataError(f"dataset not found: {resolve_path(dataset)} holds no SQuAD files "
                            f"(train-v1.1.json + dev-v1.1.json, or train.jsonl + validation.jsonl). {HOW_TO_GET_SQUAD}")
        return _squad_rows_from_json(found[0]), _squad_rows_from_json(found[1]), found[0]
    try:
        import datasets  # type: ignore
    except ImportError:
        raise DataError(f"the `datasets` package is not installed and trainer.dataset names no local copy. {HOW_TO_GET_SQUAD}")
    try:
        ds = datasets.load_dataset("squad")
    except Exception as e:  # offline, no cache
        raise DataError(f"could not load 'squad' ({type(e).__name__}). {HOW_TO_GET_SQUAD}")
    return list(ds["train"]), list(ds["validation"]), "hf:squad"


def workshop_subset(train: List[Dict], val: List[Dict], n_train: int = 1000, n_val: int = 100,
                    seed: int = 42) -> Tuple[List[Dict], List[Dict]]:
    """The workshop's subset: each split shuffled with seed 42, first n taken.

    The workshop used `Dataset.shuffle(seed=42).select(range(n))` (numpy's
    permutation); we use numpy's legacy permutation when numpy is present so
    the subset matches that, else Python's random (documented difference).
    """
    def pick(rows: List[Dict], n: int) -> List[Dict]:
        try:
            import numpy as np  # type: ignore
            idx = np.random.default_rng(seed).permutation(len(rows))[:n]
            return [rows[int(i)] for i in idx]
        except ImportError:
            idx = list(range(len(rows)))
            random.Random(seed).shuffle(idx)
            return [rows[i] for i in idx[:n]]
    return pick(train, n_train), pick(val, n_val)


# ---------------------------------------------------------------- pretraining and the fine-tuning task
# The workshop fine-tunes a PRETRAINED model on a small task, where too many
# epochs overfit.  Offline, both come from the shipped corpus: the base model
# is pretrained on Genesis-Numbers, the task is Deuteronomy (a book the base
# never saw), of which only a small slice is the training set.
TASK_MARK = b"These be the words which Moses spake"  # Deuteronomy 1:1
TASK_TRAIN_BYTES = 8192  # the task's training slice: small, so a few epochs overfit


def pretrain_and_task(data: bytes) -> Tuple[bytes, bytes]:
    """(pretraining text, task text): the corpus cut at Deuteronomy 1:1."""
    i = data.find(TASK_MARK)
    if i < 0:
        raise DataError(f"the corpus has no line starting {TASK_MARK.decode()!r} (Deuteronomy 1:1): "
                        f"the pretrain/task split needs the shipped kjv-pentateuch.txt")
    return data[:i], data[i:]


def task_split(data: bytes, train_bytes: int = TASK_TRAIN_BYTES) -> Tuple[bytes, bytes]:
    """(task train, task validation): the task text's fixed block split, the
    training part cut to its first train_bytes (validation keeps all its blocks)."""
    if not isinstance(train_bytes, int) or train_bytes < 1024:
        raise DataError(f"trainer.task_train_bytes must be an integer >= 1024, got {train_bytes!r}")
    _, task = pretrain_and_task(data)
    tr, va = split_corpus(task)
    return tr[:train_bytes], va
