"""Backend job kind `smplx_body`: the user's SMPL-X model files -> a shaped body at rest.

params:  folder (str, the SMPL-X model folder: the official layout `<folder>/smplx/SMPLX_*.npz`
         or the folder holding the files), gender ("neutral" | "male" | "female", default
         "neutral"), betas (list of up to 400 numbers, default: none, the mean shape).
result:  {"vertices": V, "faces": F, "joints": 55, "num_betas": B, "gender": str,
          "model_file": str, "warnings": [...], "artifacts": {"body": path to an .npz}}
Job kind `amass_clip`: an AMASS .npz -> a canonical clip, rest-aware when the SMPL-X folder is
given (the model's rest joints for the file's gender, and its betas when the file is an SMPL-X
one; SMPL-H betas belong to another shape space and are not used).
params:  path (str), folder (str, optional). result: {"rest_alignment": str, "model": str,
         "frames": T, "fps": float, "warnings": [...], "artifacts": {"clip": path}}

The smplx_body .npz holds SMPLXBody.to_arrays() (backend/body/smplx_body.py): vertices (V, 3), faces
(F, 3), joints (55, 3), parents (55,), joint_names (55,), weights (V, 55), joints_model
(55, 3), offset (3,), betas (B,), in Anima axes and metres.
"""
from __future__ import annotations

from ...jobs import require_packages

require_packages("SMPL-X bodies", (("torch", "torch==2.13.0"), ("smplx", "smplx==0.1.28")))

from ...body.smplx_body import BodyModelError, build_body, save_body   # noqa: E402
from ...motion import amass                                             # noqa: E402
from ...jobs import JobContext, JobError, param, register              # noqa: E402
from ...params import Spec                                              # noqa: E402
from ...protocol import ARTIFACTS_KEY, ErrorCode                      # noqa: E402

MAX_BETAS = 400
BODY_SCHEMA = {
    "folder": Spec("string", "the SMPL-X model folder", required=True, nullable=False, min=1,
                   max=4096),
    "gender": Spec("string", "which model file", "neutral", choices=("neutral", "male",
                                                                     "female")),
    "betas": Spec("array", "shape coefficients (default: the mean shape)", None,
                  max=MAX_BETAS, items="number"),
}
AMASS_SCHEMA = {
    "path": Spec("string", "an AMASS .npz file", required=True, nullable=False, min=1,
                 max=4096),
    "folder": Spec("string", "the SMPL-X model folder (optional: rest-aware conversion)", "",
                   max=4096),
}


@register("smplx_body", BODY_SCHEMA)
def smplx_body_job(params: dict, ctx: JobContext) -> dict:
    folder = str(ctx.input_path(param(params, "folder", str), "folder"))
    gender = param(params, "gender", str, "neutral")
    betas = param(params, "betas", list, [])
    if len(betas) > MAX_BETAS or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                         for b in betas):
        raise JobError(ErrorCode.BAD_PARAMS, f"betas must be a list of at most {MAX_BETAS} "
                                             f"numbers")
    ctx.progress(0.1, "loading the SMPL-X model")
    try:
        body = build_body(folder, gender, betas or None)
    except BodyModelError as e:
        raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None
    ctx.check_cancelled()
    ctx.progress(0.8, "writing the body")
    path = save_body(body, ctx.artifact_path("smplx_body.npz"))
    return {"vertices": int(len(body.vertices)), "faces": int(len(body.faces)),
            "joints": int(len(body.joints)), "num_betas": int(body.betas.size),
            "gender": body.gender, "model_file": body.model_file, "warnings": body.warnings,
            ARTIFACTS_KEY: {"body": str(path)}}


@register("amass_clip", AMASS_SCHEMA)
def amass_clip_job(params: dict, ctx: JobContext) -> dict:
    path = str(ctx.input_path(param(params, "path", str), "path"))
    folder = param(params, "folder", str, "")
    if folder.strip():
        folder = str(ctx.input_path(folder, "folder"))
    try:
        info = amass.check_amass(amass.read_npz(path), path)
        rest, warnings = None, []
        if folder.strip():
            ctx.progress(0.1, "loading the SMPL-X model")
            body = build_body(folder, info["gender"],
                              info["betas"] if info["model"] == "SMPL-X" else None)
            rest, warnings = body.joints_model, body.warnings
        ctx.check_cancelled()
        ctx.progress(0.5, "converting the motion")
        clip = amass.load_amass(path, rest_joints=rest)
    except ValueError as e:                       # BodyModelError is a ValueError too
        raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None
    return {"rest_alignment": clip.meta["rest_alignment"], "model": info["model"],
            "frames": clip.num_frames, "fps": clip.fps, "warnings": warnings,
            ARTIFACTS_KEY: {"clip": ctx.save_clip(clip, "amass")}}
