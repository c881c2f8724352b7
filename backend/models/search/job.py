"""Backend job kind `search`: prompt -> best matching library clips.

params:  text (str), seconds (float, optional, 0 < s <= 60), seed (int, optional),
         top_k (int, default 5), library ("default" | "all" | a path to a library .npz).
result:  {"clips": [{"artifact", "name", "caption", "score", "source", "licence",
                     "commercial_ok", "attribution", "seconds", "note"?}, ...],
          "selected": 0, "prompt": str, "warnings": [...], "artifacts": {name: path}}
The first entry of "clips" is the one to apply; the others are alternatives to pick from.
"""
from __future__ import annotations

import threading
from pathlib import Path

# Fail at import (the server then lists this job as unavailable, with the reason) when the
# interpreter lacks what the text encoder needs.
from ...jobs import TEXT_ENCODER_PACKAGES, require_packages

require_packages("text search", TEXT_ENCODER_PACKAGES)

from ...jobs import JobContext, JobError, param, prompt_param, register, seconds_param
from ...protocol import ARTIFACTS_KEY, ErrorCode
from ...text.encoder import TextEncoder, is_probably_english
from ...data.library import DEFAULT_LIBRARY, LibraryError, MotionLibrary
from ...params import Spec
from ...paths import user_library_dir
from ..text2motion.config import MIN_SECONDS, SECONDS_SPEC, SEED_SPEC, TEXT_SPEC
from . import search

USER_LIBRARY_SUBDIR = "library"   # <cache_dir>/library/*.npz: libraries the user imported
MAX_TOP_K = 20

_cache_lock = threading.Lock()
_library_cache: dict[tuple, MotionLibrary] = {}


def library_paths(choice: str, cache_dir: Path) -> list[Path]:
    """``default``: the shipped library; ``all``: it and every library the user imported (the
    user data folder, ``python -m backend import``, and ``<cache_dir>/library``); else the
    path of one library file."""
    if choice == "default":
        return [DEFAULT_LIBRARY]
    if choice == "all":
        folders = (user_library_dir(), Path(cache_dir) / USER_LIBRARY_SUBDIR)
        found = {p.resolve(): p for folder in folders for p in folder.glob("*.npz")}
        return [DEFAULT_LIBRARY] + [found[k] for k in sorted(found)
                                    if k != DEFAULT_LIBRARY.resolve()]
    path = Path(choice).expanduser()
    if path.suffix.lower() != ".npz":
        raise JobError(ErrorCode.BAD_PARAMS, f"library must be 'default', 'all' or the path of "
                                             f"a library .npz file, got {choice!r}")
    return [path]


def load_libraries(paths: list[Path], encoder: TextEncoder) -> MotionLibrary:
    key = tuple((str(p), p.stat().st_mtime if p.exists() else 0) for p in paths)
    with _cache_lock:
        if key not in _library_cache:
            libs = []
            for p in paths:
                lib = MotionLibrary.load(p)
                if lib.caption_embeddings is None:
                    lib.embed_captions(encoder)
                libs.append(lib)
            _library_cache.clear()
            _library_cache[key] = libs[0] if len(libs) == 1 else MotionLibrary.merge(libs)
        return _library_cache[key]


LIBRARY_CHOICES = ("default", "all")
SCHEMA = {
    "text": TEXT_SPEC,
    "seconds": SECONDS_SPEC,
    "seed": SEED_SPEC,
    "top_k": Spec("integer", "how many matches to return", 5, min=1, max=MAX_TOP_K),
    "library": Spec("string", "default: the shipped CMU library; all: it and the libraries "
                    "you imported; or the path of a library .npz", "default", nullable=False,
                    min=1, max=4096),
}


@register("search", SCHEMA)
def search_job(params: dict, ctx: JobContext) -> dict:
    prompt = prompt_param(params)
    seconds = seconds_param(params, search.MAX_SECONDS, MIN_SECONDS)
    seed = params.get("seed")
    if seed is not None:
        seed = int(param(params, "seed", int))
    top_k = param(params, "top_k", int, 5, minimum=1, maximum=MAX_TOP_K)
    choice = param(params, "library", str, "default")

    warnings = []
    if not is_probably_english(prompt):
        warnings.append("the prompt does not look English; the library captions are English, "
                        "so matches may be poor")
    ctx.progress(0.05, "loading the text encoder")
    encoder = ctx.wait_for(TextEncoder.shared)
    ctx.check_cancelled()
    ctx.progress(0.3, "loading the motion library")
    try:
        paths = library_paths(choice, ctx.cache_dir)
        if choice not in LIBRARY_CHOICES:
            paths = [ctx.input_path(str(p), "library") for p in paths]
        library = load_libraries(paths, encoder)
    except LibraryError as e:
        raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None
    if len(library) == 0:
        raise JobError(ErrorCode.BAD_PARAMS, "the motion library is empty")
    ctx.check_cancelled()
    ctx.progress(0.6, "ranking clips")
    embedding = encoder.encode([prompt])[0]
    matches = search.rank(library, embedding, top_k)
    first = search.choose(matches, seed)
    matches = [matches[first]] + [m for i, m in enumerate(matches) if i != first]

    artifacts, clips = {}, []
    for rank, m in enumerate(matches):
        ctx.check_cancelled()
        clip = search.crop(library.clip(m.index), seconds, seed)
        clip.meta["prompt"] = prompt
        clip.meta["matched_caption"] = m.caption
        name = f"clip_{rank}"
        artifacts[name] = ctx.save_clip(clip, name)
        e = library.entries[m.index]
        info = {"artifact": name, "name": e.name, "caption": m.caption,
                "score": round(m.score, 4), "source": e.source, "licence": e.licence,
                "commercial_ok": e.commercial_ok, "attribution": e.attribution,
                "seconds": round(clip.seconds, 3)}
        if "note" in clip.meta:
            info["note"] = clip.meta["note"]
        clips.append(info)
        ctx.progress(0.6 + 0.4 * (rank + 1) / len(matches), "writing clips")
    return {"clips": clips, "selected": 0, "prompt": prompt, "warnings": warnings,
            ARTIFACTS_KEY: artifacts}
