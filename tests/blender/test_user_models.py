"""The Generate panel's model choice lists the user's fine-tuned checkpoints
(<user data>/models/*.pt, `python -m backend train text2motion --init ...`) with their licence,
next to the shipped "starter" and "clean", whose identifiers and numbers do not change."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def models_home(tmp_path, monkeypatch):
    """ANIMA_HOME with models/mine.pt (a real checkpoint: the shipped clean one) and its
    summary written by the backend (finetune.write_summary, in its own process: no torch in
    Blender), and models/bare.pt without a summary."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(REPO / "assets" / "models" / "text2motion_clean.pt", models / "mine.pt")
    code = ("import sys; from pathlib import Path; "
            "from backend.models.text2motion.finetune import write_summary; "
            "write_summary(Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(models / "mine.pt")], cwd=REPO,
                   check=True, timeout=120)
    (models / "bare.pt").write_bytes(b"")
    monkeypatch.setenv("ANIMA_HOME", str(tmp_path))
    return models


def test_model_choice_lists_user_checkpoints_with_licence(models_home):
    from anima.operators import generate

    settings = bpy.context.scene.anima
    assert settings.model == "starter"
    items = generate.model_items(settings, bpy.context)
    ids = [it[0] for it in items]
    assert ids[:2] == ["starter", "clean"] and [it[4] for it in items[:2]] == [0, 1]
    mine, bare = str(models_home / "mine.pt"), str(models_home / "bare.pt")
    assert sorted(ids[2:]) == sorted([mine, bare])
    by_id = {it[0]: it for it in items}
    assert "Licence: CMU" in by_id[mine][2] and "commercial use allowed" in by_id[mine][2]
    assert "unknown" in by_id[bare][2] and "NOT allowed" in by_id[bare][2]
    assert len({it[4] for it in items}) == len(items)          # distinct numbers

    settings.model = mine
    assert settings.model == mine
    licence, commercial = generate.MODEL_LICENCES[mine]
    assert licence.startswith("CMU") and commercial is True

    settings.model = "clean"
    (models_home / "another.pt").write_bytes(b"")               # the list changes ...
    generate.model_items(settings, bpy.context)
    assert settings.model == "clean"                            # ... the choice does not
    with pytest.raises(TypeError):
        settings.model = str(models_home / "not_there.pt")
