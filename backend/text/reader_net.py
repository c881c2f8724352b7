"""The learnt prompt reader (issue 9): which known action and style a prompt asks for, read
by the offline MiniLM with its top layers fine-tuned for the job.

The word rules of ``known.py`` / ``refine.py`` were written from the misses of dev sets
and seen prompt sets; on each new blind set they read 78-87 % of the actions right. A
frozen sentence embedding with a linear read gained nothing over them (round 10). This net
fine-tunes the top ``LAYERS`` transformer layers of the same MiniLM (the bottom ones and the
word embeddings stay the shipped encoder's), mean-pools the tokens and reads three heads:

* ``action``: the 34 actions of ``eval.prompt_set.KNOWN_ACTIONS``;
* ``style``: no style, or one of the 16 styles;
* ``unknown``: whether the text asks for a motion none of the actions is (used only to clear
  flags the embedding alone raised: ``known.NET_CLEARS``).

Training data (``load_examples``): the reader dev sets a-d and the sense check's four files
(``backend/text/data``, written for development, never a test set) and ``PARAPHRASES``
captions per action from ``paraphrase.py`` (styles drawn at random), less every row whose
prompt is also a prompt of a set under ``tests/data``. About three minutes on this project's
2-core CPU (``python -m backend.text.reader_net --write``). The artifact
(``assets/models/reader_net.pt``, ~11 MB fp16; the model store's family ``FORMAT``) holds
the top layers, the heads and the label lists; the bottom of the network comes from the
encoder's wheel at load time.

``ReaderNet.shared().read(texts)`` -> one ``Reading`` per text (probabilities per label).
Used by ``snap.snap_prompt`` (docs/text_understanding.md, round 16).
"""
from __future__ import annotations

import copy
import json
import random
import re
import threading
from dataclasses import dataclass
from pathlib import Path


DATA_DIR = Path(__file__).resolve().parent / "data"
ARTIFACT = Path(__file__).resolve().parents[2] / "assets" / "models" / "reader_net.pt"
TEST_SETS = Path(__file__).resolve().parents[2] / "tests" / "data"   # never trained on
DEV_FILES = ("reader_dev_a.jsonl", "reader_dev_b.jsonl", "reader_dev_c.jsonl",
             "reader_dev_d.jsonl")
KNOWN_FILES = ("sense_known.jsonl", "sense_known_more.jsonl")
UNKNOWN_FILES = ("sense_unknown.jsonl", "sense_unknown_more.jsonl", "unknown_dev_c.jsonl")
NO_STYLE = "none"
FORMAT, VERSION = "anima-reader-net", 1      # the model store's family (backend/modelstore.py)
META = {"licence": "Apache-2.0", "commercial_ok": True,
        "attribution": "fine-tuned from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)"}
LAYERS = 3              # top transformer layers fine-tuned (of MiniLM's 6)
PARAPHRASES = 40        # generated captions per action
EPOCHS = 4
BATCH = 32
LR_LAYERS, LR_HEADS = 5e-5, 2e-3
MAX_TOKENS = 64
SCALE = 10.0            # the pooled, normalised embedding is scaled before the heads
SEED = 0
RECENT = 256          # readings kept (the checker, snap and compound parts read a prompt)


@dataclass
class Reading:
    """What the net reads in one text: probabilities over its labels."""
    action: dict          # action -> p
    style: dict           # style (or NO_STYLE) -> p
    p_unknown: float      # p that the text asks for a motion none of the actions is

    def best_action(self, allowed=None) -> tuple[str | None, float]:
        """The likeliest action among `allowed` (all when None), its probability
        renormalised over them."""
        items = {a: p for a, p in self.action.items() if allowed is None or a in allowed}
        if not items:
            return None, 0.0
        total = sum(items.values())
        a = max(items, key=items.get)
        return a, float(items[a] / total) if total > 0 else 0.0

    def best_style(self) -> tuple[str | None, float]:
        s = max(self.style, key=self.style.get)
        return (None if s == NO_STYLE else s), float(self.style[s])


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_set_prompts(root: Path = TEST_SETS) -> set[str]:
    """Every prompt of the prompt sets under tests/data (normalised: case, punctuation and
    spacing ignored); empty where the folder is not there (an installed add-on)."""
    out = set()
    for path in sorted(Path(root).glob("prompts*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.add(_key(json.loads(line).get("prompt") or ""))
    return out


def load_examples(files=DEV_FILES, data_dir: Path = DATA_DIR,
                  paraphrases: int = PARAPHRASES, seed: int = SEED,
                  exclude: set | None = None) -> list[dict]:
    """{prompt, action, style, known} rows: the dev files, the sense check's files (known or
    not; no action or style), then generated paraphrases; less every row whose prompt is also
    a prompt of a test set (`exclude`, default ``test_set_prompts()``: short prompts such as
    "wave left hand" or "crawl" were written into both by different hands)."""
    from ..eval.prompt_set import KNOWN_ACTIONS, KNOWN_STYLES
    from .paraphrase import paraphrase
    rows = []
    for name in files:
        for line in (Path(data_dir) / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append({"prompt": r["prompt"], "action": r["action"],
                             "style": r.get("style") or NO_STYLE, "known": True})
    for names, known in ((KNOWN_FILES, True), (UNKNOWN_FILES, False)):
        for name in names:
            for line in (Path(data_dir) / name).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rows.append({"prompt": json.loads(line)["prompt"], "action": None,
                                 "style": None, "known": known})
    rng = random.Random(seed)
    styles = [None] * 6 + list(KNOWN_STYLES)
    for action in KNOWN_ACTIONS:
        for _ in range(paraphrases):
            style = rng.choice(styles)
            rows.append({"prompt": paraphrase(action, style, rng), "action": action,
                         "style": style or NO_STYLE, "known": True})
    exclude = test_set_prompts() if exclude is None else exclude
    return [r for r in rows if _key(r["prompt"]) not in exclude]


class _Net:
    """MiniLM (a private copy of the shared encoder's) + three linear heads (torch)."""

    def __init__(self, actions, styles, layers: int = LAYERS):
        import torch
        from .encoder import TextEncoder
        st = TextEncoder.shared().model
        self.tokenizer = st.tokenizer
        self.bert = copy.deepcopy(st[0].auto_model).float().eval()
        self.layers = int(layers)
        self.actions, self.styles = list(actions), list(styles)
        self.action_head = torch.nn.Linear(self.bert.config.hidden_size, len(self.actions))
        self.style_head = torch.nn.Linear(self.bert.config.hidden_size, len(self.styles))
        self.unknown_head = torch.nn.Linear(self.bert.config.hidden_size, 1)

    def top_keys(self) -> list[str]:
        n = self.bert.config.num_hidden_layers
        prefixes = tuple(f"encoder.layer.{i}." for i in range(n - self.layers, n))
        return [k for k in self.bert.state_dict() if k.startswith(prefixes)]

    def trainable(self):
        n = self.bert.config.num_hidden_layers
        for p in self.bert.parameters():
            p.requires_grad = False
        for layer in self.bert.encoder.layer[n - self.layers:]:
            for p in layer.parameters():
                p.requires_grad = True
        return [p for p in self.bert.parameters() if p.requires_grad]

    def forward(self, texts: list[str], train: bool = False):
        import torch
        self.bert.train(train)
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                               max_length=MAX_TOKENS, return_tensors="pt")
        h = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
        pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1) * SCALE
        return self.action_head(pooled), self.style_head(pooled), \
            self.unknown_head(pooled)[:, 0]

    def state(self) -> dict:
        import torch
        sd = self.bert.state_dict()
        return {"format": FORMAT, "version": VERSION, "meta": dict(META),
                "actions": self.actions, "styles": self.styles, "layers": self.layers,
                "top": {k: sd[k].to(torch.float16) for k in self.top_keys()},
                "action_head": {k: v.to(torch.float16)
                                for k, v in self.action_head.state_dict().items()},
                "style_head": {k: v.to(torch.float16)
                               for k, v in self.style_head.state_dict().items()},
                "unknown_head": {k: v.to(torch.float16)
                                 for k, v in self.unknown_head.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict) -> "_Net":
        if not isinstance(state, dict) or state.get("format") != FORMAT \
                or state.get("version") != VERSION:
            found = (state.get("format"), state.get("version")) if isinstance(state, dict) \
                else type(state).__name__
            raise ValueError(f"not a reader net artifact ({FORMAT} version {VERSION}): "
                             f"found {found}")
        net = cls(state["actions"], state["styles"], state["layers"])
        missing = set(net.top_keys()) ^ set(state["top"])
        if missing:
            raise ValueError(f"the reader net's artifact does not fit the encoder: "
                             f"{sorted(missing)[:3]}")
        net.bert.load_state_dict({k: v.float() for k, v in state["top"].items()}, strict=False)
        net.action_head.load_state_dict({k: v.float() for k, v in state["action_head"].items()})
        net.style_head.load_state_dict({k: v.float() for k, v in state["style_head"].items()})
        net.unknown_head.load_state_dict({k: v.float()
                                          for k, v in state["unknown_head"].items()})
        return net


def train_reader(rows: list[dict] | None = None, epochs: int = EPOCHS, seed: int = SEED,
                 log=print) -> _Net:
    """Fine-tune the net on `rows` ({prompt, action, style}; default ``load_examples()``)."""
    import torch
    from ..eval.prompt_set import KNOWN_ACTIONS, KNOWN_STYLES
    torch.manual_seed(seed)
    rows = list(load_examples() if rows is None else rows)
    net = _Net(KNOWN_ACTIONS, (NO_STYLE,) + tuple(KNOWN_STYLES))
    a_index = {a: i for i, a in enumerate(net.actions)}
    s_index = {s: i for i, s in enumerate(net.styles)}
    heads = [p for h in (net.action_head, net.style_head, net.unknown_head)
             for p in h.parameters()]
    # (kept off 0 and 1: rows of one class only still train)
    share_unknown = min(max(sum(not r["known"] for r in rows) / max(len(rows), 1), 0.01), 0.99)
    opt = torch.optim.AdamW([{"params": net.trainable(), "lr": LR_LAYERS},
                             {"params": heads, "lr": LR_HEADS}], weight_decay=0.01)
    ce = torch.nn.functional.cross_entropy
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(rows)
        total = 0.0
        for i in range(0, len(rows), BATCH):
            batch = rows[i:i + BATCH]
            a_logits, s_logits, u_logits = net.forward([r["prompt"] for r in batch],
                                                       train=True)
            labelled = torch.tensor([r["action"] is not None for r in batch])
            unknown = torch.tensor([float(not r["known"]) for r in batch])
            # the two classes weigh the same in the unknown head's loss
            weight = torch.where(unknown > 0.5, 0.5 / share_unknown, 0.5 / (1 - share_unknown))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                u_logits, unknown, weight=weight)
            if labelled.any():
                lab = [r for r in batch if r["action"] is not None]
                loss = loss + ce(a_logits[labelled],
                                 torch.tensor([a_index[r["action"]] for r in lab]),
                                 label_smoothing=0.1) \
                    + ce(s_logits[labelled], torch.tensor([s_index[r["style"]] for r in lab]),
                         label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(rows):.3f}")
    net.bert.eval()
    return net


def load_reader(path: Path) -> _Net:
    """The net of an artifact (ValueError naming the file when it is not one)."""
    import torch
    try:
        return _Net.from_state(torch.load(path, map_location="cpu", weights_only=True))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


class ReaderNet:
    """The shipped net (``ARTIFACT``); ``read(texts)``."""
    _lock = threading.Lock()
    _shared = None
    _missing = False

    def __init__(self, path: Path = ARTIFACT, net: _Net | None = None):
        self.net = load_reader(path) if net is None else net
        self._run = threading.Lock()
        self._recent: dict = {}      # text -> Reading: the checker and snap read one prompt


    @classmethod
    def shared(cls) -> "ReaderNet | None":
        """The shipped net, or None when its artifact is missing (the word rules then read
        alone)."""
        with cls._lock:
            if cls._shared is None and not cls._missing:
                if ARTIFACT.is_file():
                    cls._shared = cls()
                else:
                    cls._missing = True
            return cls._shared

    def read(self, texts: list[str]) -> list[Reading]:
        import torch
        texts = [t if isinstance(t, str) and t.strip() else "." for t in texts]
        with self._run:
            todo = list(dict.fromkeys(t for t in texts if t not in self._recent))
            with torch.no_grad():
                for i in range(0, len(todo), 64):
                    a, s, u = self.net.forward(todo[i:i + 64])
                    pa, ps = torch.softmax(a, -1).numpy(), torch.softmax(s, -1).numpy()
                    pu = torch.sigmoid(u).numpy()
                    for t, ra, rs, ru in zip(todo[i:i + 64], pa, ps, pu):
                        self._recent[t] = Reading(
                            dict(zip(self.net.actions, map(float, ra))),
                            dict(zip(self.net.styles, map(float, rs))), float(ru))
            out = [self._recent[t] for t in texts]
            while len(self._recent) > RECENT:
                self._recent.pop(next(iter(self._recent)))
        return out


def write_artifact(path: Path = ARTIFACT, epochs: int = EPOCHS, log=print) -> dict:
    import torch
    rows = load_examples()
    net = train_reader(rows, epochs=epochs, log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state(), path)
    return {"examples": len(rows), "bytes": path.stat().st_size}


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="train the learnt prompt reader")
    parser.add_argument("--write", action="store_true", help=f"train and write {ARTIFACT}")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=ARTIFACT)
    args = parser.parse_args(argv)
    if not args.write:
        parser.print_help()
        return 0
    import torch
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    print(write_artifact(args.out, epochs=args.epochs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
