"""Content packs at the hub, on both storage backends: publishing, listing, the API."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import pytest

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.hub.storage import ContentPackInfo, ContentVersionError, HubStorage, utc_now
from mrc_desktop.storage.paths import shipped_content_dir
from mrc_desktop.sync.content_unpack import read_pack
from mrc_desktop.sync.keys import Identity
from tests.hub.desks import FakeDesk

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

ARTICLE = Path("en") / "keep-your-passport.md"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the shipped content with one article changed."""
    root = tmp_path / "content"
    shutil.copytree(shipped_content_dir(), root)
    article = root / ARTICLE
    text = article.read_text("utf-8")
    article.write_text(text.replace("Your passport is yours.", "Your passport is yours, always."))
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = hub_cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_publish_signs_the_next_version_and_list_shows_it(
    hub_url: str, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "content", "publish", str(content), "--db", hub_url)
    assert code == 0, err
    assert out.startswith("published content pack version 1: ")
    files = sum(1 for p in content.rglob("*") if p.is_file())
    assert f": {files} files," in out
    code, out, _ = run(capsys, "content", "publish", str(content), "--db", hub_url)
    assert code == 0 and "version 2" in out
    digest = out.split("sha256 ")[1].strip()

    code, out, _ = run(capsys, "content", "list", "--db", hub_url)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split()[0] == "1" and lines[1].split()[0] == "2"
    assert lines[1].endswith(digest)

    from mrc_desktop.hub.storage import open_storage

    storage = open_storage(hub_url)
    try:
        data = storage.content_pack_data(2)
        assert data is not None and hashlib.sha256(data).hexdigest() == digest
        hub = Identity(storage.hub_key_seed())
    finally:
        storage.close()
    manifest = read_pack(data, hub.public)  # signed with the hub's own key, every hash right
    assert manifest.version == 2 and manifest.publisher == hub.public.hex
    changed = next(f for f in manifest.files if f.path == ARTICLE.as_posix())
    assert changed.sha256 == hashlib.sha256((content / ARTICLE).read_bytes()).hexdigest()


def test_a_folder_that_fails_the_content_check_is_refused_with_file_and_line(
    hub_url: str, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = content / "countries" / "MY.toml"
    broken.write_text(broken.read_text("utf-8") + "\nthis is = = not toml\n", "utf-8")
    code, out, err = run(capsys, "content", "publish", str(content), "--db", hub_url)
    assert code == 1
    assert out.startswith(f"{broken}:") and "nothing was published" in err
    line = int(out.split(":")[1])
    assert broken.read_text("utf-8").splitlines()[line - 1].startswith("this is")
    assert run(capsys, "content", "list", "--db", hub_url)[1] == "no content pack published\n"
    code, _, err = run(capsys, "content", "publish", str(content / "nowhere"), "--db", hub_url)
    assert code == 2 and "not a folder" in err


def test_a_symbolic_link_in_the_folder_is_refused(
    hub_url: str, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content / "en" / "elsewhere.txt").symlink_to("/etc/hostname")
    code, _, err = run(capsys, "content", "publish", str(content), "--db", hub_url)
    assert code == 1 and "a symbolic link" in err and "nothing was published" in err


def test_the_pack_version_follows_the_folder_s_own_version(
    hub_url: str, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content / "pack-version").write_text("7\n")
    code, out, _ = run(capsys, "content", "publish", str(content), "--db", hub_url)
    assert code == 0 and "version 8:" in out


def test_versions_only_grow_in_storage(storage: HubStorage) -> None:
    def info(version: int) -> ContentPackInfo:
        return ContentPackInfo(version, f"2026-11-{version:02d}T10:00:00Z", 1, 3, 40, "ab" * 32)

    assert storage.latest_content_pack() is None
    storage.add_content_pack(info(3), b"three")
    for stale in (3, 2):
        with pytest.raises(ContentVersionError, match="not newer than the published version 3"):
            storage.add_content_pack(info(stale), b"other")
    storage.add_content_pack(info(4), b"four")
    assert [p.version for p in storage.content_packs()] == [3, 4]
    assert storage.latest_content_pack() == info(4)
    assert storage.content_pack_data(3) == b"three"
    assert storage.content_pack_data(5) is None


def test_desks_fetch_the_latest_pack_with_signed_requests(
    storage: HubStorage, content: Path
) -> None:
    from mrc_desktop.hub.content import publish_folder

    centre = storage.add_centre("Centre North")
    desk = FakeDesk()
    storage.enrol_desk(desk.id, desk.signing_key, None, desk.label, utc_now())
    storage.approve_desk(desk.id, centre.id, "{}", utc_now())
    with TestClient(create_app(storage)) as client:
        assert client.get("/v1/content/latest").status_code == 401
        latest = client.get("/v1/content/latest", auth=desk.auth())
        assert latest.status_code == 404
        assert latest.json() == {"detail": "no content pack has been published"}

        info = publish_folder(storage, content)
        latest = client.get("/v1/content/latest", auth=desk.auth())
        assert latest.status_code == 200
        assert latest.json() == {
            "version": 1,
            "published_at": info.published_at,
            "files": info.files,
            "size": info.size,
            "sha256": info.sha256,
        }
        pack = client.get("/v1/content/1", auth=desk.auth())
        assert pack.status_code == 200
        assert pack.headers["content-type"] == "application/octet-stream"
        assert hashlib.sha256(pack.content).hexdigest() == info.sha256
        assert client.get("/v1/content/1").status_code == 401
        assert client.get("/v1/content/2", auth=desk.auth()).status_code == 404
        assert client.get("/v1/content/0", auth=desk.auth()).status_code == 422
