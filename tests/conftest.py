"""Keep pytest from importing the repository root, which is the Blender add-on package (it has
`__init__.py`, with package-relative imports).

pytest 8+ imports `__init__.py` of every directory on the way from the rootdir to a test:
- a conftest.py in the root was imported as `<folder>.conftest`, so the add-on (bpy included)
  was imported as a package named after the checkout folder, in every test process;
- the root became a `Package` node, whose setup imports the root `__init__.py` the same way.
With a folder named like an identifier (`anima`, `main`) both silently imported the add-on under
that name; with any other name (`anima-main`, `my-clone`) every test errored with "attempted
relative import with no known parent package". So there is no root conftest.py, and the root is
collected as a plain directory: the folder's name no longer matters. Blender tests load the
add-on as `anima` themselves (tools/addon_loader.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


class _RepoRootIsNotATestPackage:
    """Registered as a plugin: the Session collects the root directory with the hooks of the
    root's parent, where no conftest hook of this repository applies."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector):
        if path.resolve() == REPO_ROOT:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config: pytest.Config) -> None:
    name = "anima-repo-root-is-a-plain-directory"
    if not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(_RepoRootIsNotATestPackage(), name)


@pytest.fixture(scope="session")
def every_action_model(tmp_path_factory) -> str:
    """A model (a card beside a checkpoint name) trained on the starter's sources, whose card
    has no training coverage: it knows every catalogue action of them, rolls and crawls too
    (the shipped starter has no training recording of those: backend/text/coverage.py). For
    tests of the prompt checker's word rules, not of what a shipped model saw."""
    from backend.text.catalogue import model_card_path
    from backend.text.coverage import SECTION
    card = model_card_path("starter").read_text(encoding="utf-8")
    head, _, rest = card.partition(SECTION)
    folder = tmp_path_factory.mktemp("every_action_model")
    (folder / "every.md").write_text(head + "## Model" + rest.split("\n## Model", 1)[1],
                                     encoding="utf-8")
    return str(folder / "every.pt")
