"""Content packs on a desk: a published folder reaches the library, and every bad pack is
refused with one clear line while the content in use stays byte for byte as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mrc_desktop.cli import main as mrc
from mrc_desktop.hub.content import publish_folder
from mrc_desktop.library.index import ensure_index
from mrc_desktop.library.search import SearchIndex
from mrc_desktop.storage import paths as paths_module
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.paths import AppPaths, app_paths, content_dir, shipped_content_dir
from mrc_desktop.sync.content_install import install_pack, installed_content
from mrc_desktop.sync.content_pack import (
    FILES_PREFIX,
    ContentPackError,
    build_pack,
    folder_files,
    make_manifest,
    regular_member,
    sign_manifest,
    write_container,
)
from mrc_desktop.sync.content_unpack import read_pack
from mrc_desktop.sync.hub_protocol import b64
from mrc_desktop.sync.keys import Identity
from tests.sync.test_client import Hub, enrolled_desk, make_hub, sync

HUB = Identity(bytes(range(32)))
OTHER = Identity(b"\x07" * 32)
WHEN = "2026-11-23T10:00:00Z"
PASSPORT = "en/keep-your-passport.md"
MINI = (PASSPORT, "en/checking-an-agency.md", "countries/MY.toml", "exchange-rates.toml")


# --- helpers --------------------------------------------------------------------------------


def mini(word: str = "") -> dict[str, bytes]:
    """A few real content files; ``word`` goes into the passport article's first sentence."""
    files = {path: (shipped_content_dir() / path).read_bytes() for path in MINI}
    if word:
        files[PASSPORT] = files[PASSPORT].replace(
            b"Your passport is yours.", f"Your passport is {word}.".encode()
        )
    return files


def pin(paths: AppPaths, identity: Identity = HUB) -> None:
    store = DeskStore(paths.desk_db)
    try:
        store.pin_hub("https://hub.test", b64(identity.public.verify_key))
    finally:
        store.close()


def snapshot(paths: AppPaths) -> dict[str, bytes]:
    """Every file the desk keeps for content (pointer, packs), byte for byte."""
    root = paths.content_packs
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def inflates_the_same(pack: bytes, inflated: bytes) -> bool:
    """Deflate has bits nothing reads: a flip there leaves the pack saying the same."""
    try:
        return gzip.decompress(pack) == inflated
    except (OSError, EOFError, zlib.error):
        return False


def finds(paths: AppPaths, word: str) -> bool:
    """The library's search (through content_dir, as the app uses it) finds ``word``."""
    ensure_index(paths.content_db, content_dir())
    index = SearchIndex(paths.content_db)
    try:
        return any(hit.slug == "keep-your-passport" for hit in index.search(word, lang="en"))
    finally:
        index.close()


@pytest.fixture
def desk() -> AppPaths:
    """A desk with the hub key pinned and pack 1 (the word 'zanzibarite') installed."""
    paths = app_paths()
    pin(paths)
    info = install_pack(build_pack(mini("zanzibarite"), HUB, 1, WHEN), paths=paths)
    assert (info.version, info.source) == (1, "pack")
    return paths


@pytest.fixture
def unchanged(desk: AppPaths) -> Iterator[Callable[[], None]]:
    """Call it after a refusal: the content in use is byte-identical and still works."""
    before = snapshot(desk)

    def check() -> None:
        assert snapshot(desk) == before
        assert content_dir() == desk.content_packs / "packs" / "1" / "content"
        assert installed_content(desk).version == 1
        assert finds(desk, "zanzibarite")

    yield check


def crafted(
    files: dict[str, bytes],
    *,
    version: int = 2,
    signer: Identity = HUB,
    manifest_edit: Callable[[dict[str, Any]], None] | None = None,
    members: list[tuple[tarfile.TarInfo, bytes]] | None = None,
) -> bytes:
    """A pack built by hand: a manifest (edited, then signed by ``signer``) and members."""
    manifest = make_manifest(files, signer.public, version, WHEN)
    if manifest_edit is not None:
        manifest_edit(manifest)
    raw, signature = sign_manifest(manifest, signer)
    if members is None:
        members = [
            (regular_member(FILES_PREFIX + path, len(data)), data)
            for path, data in sorted(files.items())
        ]
    return write_container(raw, signature, members)


# --- installing -----------------------------------------------------------------------------


def test_content_in_use_is_the_shipped_folder_until_a_pack_is_installed() -> None:
    paths = app_paths()
    assert content_dir() == shipped_content_dir()
    info = installed_content(paths)
    assert (info.version, info.source, info.published_at) == (0, "shipped", None)
    with pytest.raises(ContentPackError, match=r"no hub key .* enrol it first"):
        install_pack(build_pack(mini(), HUB, 1, WHEN), paths=paths)
    assert not paths.content_packs.exists() or snapshot(paths) == {}


def test_a_newer_pack_replaces_the_content_and_the_one_before_is_kept(desk: AppPaths) -> None:
    assert finds(desk, "zanzibarite") and not finds(desk, "quixotical")
    seen: list[tuple[str, int, int]] = []
    info = install_pack(
        build_pack(mini("quixotical"), HUB, 2, WHEN),
        paths=desk,
        progress=lambda *step: seen.append(step),
    )
    assert info.root == content_dir() == desk.content_packs / "packs" / "2" / "content"
    assert (info.version, info.published_at, info.publisher) == (2, WHEN, HUB.public.hex)
    assert seen[0] == ("verify", 1, len(MINI)) and ("verify", 4, 4) in seen
    assert any(stage == "index" for stage, _, _ in seen)
    assert finds(desk, "quixotical") and not finds(desk, "zanzibarite")
    for path in MINI:
        assert (info.root / path).read_bytes() == mini("quixotical")[path]
    pointer = json.loads((desk.content_packs / "current.json").read_text())
    assert (pointer["version"], pointer["previous"]) == (2, 1)
    kept = desk.content_packs / "packs" / "2"
    assert (kept / "manifest.json").exists() and len((kept / "signature").read_bytes()) == 64

    install_pack(build_pack(mini("xylophonic"), HUB, 5, WHEN), paths=desk, reindex=False)
    packs = sorted(p.name for p in (desk.content_packs / "packs").iterdir())
    assert packs == ["2", "5"]  # the one in use and the one before it, for a rollback
    assert finds(desk, "xylophonic")  # not indexed yet: the library indexes on opening


def test_a_flipped_byte_anywhere_is_refused_and_changes_nothing(
    desk: AppPaths, unchanged: Callable[[], None]
) -> None:
    good = build_pack(mini("quixotical"), HUB, 2, WHEN)
    inflated = gzip.decompress(good)
    offsets = sorted(
        {*range(0, 120), *range(120, len(good), 37), *range(len(good) - 40, len(good))}
    )
    same_bytes = 0
    reasons: set[str] = set()
    for offset in offsets:
        flipped = bytearray(good)
        flipped[offset] ^= 0xFF
        if inflates_the_same(bytes(flipped), inflated):
            same_bytes += 1
            continue
        with pytest.raises(ContentPackError) as refused:
            install_pack(bytes(flipped), paths=desk, reindex=False)
        message = str(refused.value)
        assert "\n" not in message and len(message) < 240
        reasons.add(message.split(" (")[0].split(":")[0])
    assert same_bytes <= len(offsets) // 50
    assert {"bad signature", f"file {PASSPORT}"} <= reasons, reasons
    unchanged()


def test_a_flipped_byte_in_a_full_size_pack_is_refused() -> None:
    files = folder_files(shipped_content_dir(), skip=["pack-version"])
    good = build_pack(files, HUB, 2, WHEN)
    inflated = gzip.decompress(good)
    step = len(good) // 150
    for offset in [*range(0, len(good), step), len(good) - 9, len(good) - 1]:
        flipped = bytearray(good)
        flipped[offset] ^= 0xFF
        if inflates_the_same(bytes(flipped), inflated):
            continue
        with pytest.raises(ContentPackError):
            read_pack(bytes(flipped), HUB.public)


def test_a_truncated_pack_is_refused(desk: AppPaths, unchanged: Callable[[], None]) -> None:
    good = build_pack(mini("quixotical"), HUB, 2, WHEN)
    for length in [0, 5, 10, 11, 300, len(good) // 2, len(good) - 8, len(good) - 1]:
        with pytest.raises(ContentPackError, match=r"truncated|damaged|not an MRC Desk"):
            install_pack(good[:length], paths=desk, reindex=False)
    unchanged()


def test_a_file_whose_hash_does_not_match_is_refused(
    desk: AppPaths, unchanged: Callable[[], None]
) -> None:
    files = mini("quixotical")
    altered = files[PASSPORT].replace(b"quixotical", b"QUIXOTICAL")
    members = [
        (regular_member(FILES_PREFIX + path, len(data)), altered if path == PASSPORT else data)
        for path, data in sorted(files.items())
    ]
    with pytest.raises(ContentPackError, match=f"file {PASSPORT}: SHA-256 does not match"):
        install_pack(crafted(files, members=members), paths=desk)
    unchanged()


def test_a_pack_signed_by_another_key_is_refused(
    desk: AppPaths, unchanged: Callable[[], None]
) -> None:
    other, ours = OTHER.public.hex[:16], HUB.public.hex[:16]
    trusted = f"wrong publisher: the pack names hub key {other}…, this desk trusts {ours}…"
    with pytest.raises(ContentPackError, match=trusted):
        install_pack(build_pack(mini("quixotical"), OTHER, 2, WHEN), paths=desk)

    def claim_our_hub(manifest: dict[str, Any]) -> None:
        manifest["publisher"] = HUB.public.hex

    forged = crafted(mini("quixotical"), signer=OTHER, manifest_edit=claim_our_hub)
    with pytest.raises(ContentPackError, match=r"^bad signature: the pack was not signed by"):
        install_pack(forged, paths=desk)
    unchanged()


def test_a_downgrade_or_the_same_version_is_refused(desk: AppPaths) -> None:
    install_pack(build_pack(mini("quixotical"), HUB, 3, WHEN), paths=desk, reindex=False)
    before = snapshot(desk)
    with pytest.raises(ContentPackError, match=r"a downgrade: this pack is version 1, the content"
                       r" in use is version 3 \(pack\); refused"):  # fmt: skip
        install_pack(build_pack(mini("zanzibarite"), HUB, 1, WHEN), paths=desk)
    with pytest.raises(ContentPackError, match=r"the same version: this pack is version 3"):
        install_pack(build_pack(mini("other"), HUB, 3, WHEN), paths=desk)
    assert snapshot(desk) == before


def test_unsafe_paths_and_entries_are_refused(
    desk: AppPaths, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    files = mini("quixotical")
    evil = {**files, "../evil.md": b"# evil\n"}
    with pytest.raises(ContentPackError, match=r"unsafe path '../evil.md'"):
        install_pack(crafted(evil), paths=desk)  # signed by the hub, and still refused

    def with_member(info: tarfile.TarInfo, data: bytes = b"") -> bytes:
        members = [
            (regular_member(FILES_PREFIX + path, len(body)), body)
            for path, body in sorted(files.items())
        ]
        return crafted(files, members=[*members, (info, data)])

    outside = regular_member("content/../../evil.md", 7)
    with pytest.raises(ContentPackError, match=r"unsafe path '../../evil.md'"):
        install_pack(with_member(outside, b"# evil\n"), paths=desk)
    link = tarfile.TarInfo(FILES_PREFIX + "en/link.md")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(ContentPackError, match=r"'content/en/link.md' in the pack: a symbolic"):
        install_pack(with_member(link), paths=desk)
    device = tarfile.TarInfo(FILES_PREFIX + "en/dev")
    device.type = tarfile.CHRTYPE
    with pytest.raises(ContentPackError, match=r"a device or special file"):
        install_pack(with_member(device), paths=desk)
    stray = regular_member(FILES_PREFIX + "en/stray.md", 3)
    with pytest.raises(ContentPackError, match=r"en/stray.md is in the pack but not in its signed"):
        install_pack(with_member(stray, b"abc"), paths=desk)
    again = regular_member(FILES_PREFIX + PASSPORT, len(files[PASSPORT]))
    with pytest.raises(ContentPackError, match=f"file {PASSPORT} is in the pack twice"):
        install_pack(with_member(again, files[PASSPORT]), paths=desk)
    for bad in ("CON.md", "en/a:b.md", "/etc/x", "en/dot.", "En/keep-your-passport.md"):
        with pytest.raises(ContentPackError, match=r"unsafe path|duplicate file name"):
            install_pack(crafted({**files, bad: b"x"}), paths=desk)
    missing = crafted(files, members=[(regular_member(FILES_PREFIX + PASSPORT, 3), b"abc")])
    with pytest.raises(ContentPackError, match=r"missing from the pack|bytes, the manifest says"):
        install_pack(missing, paths=desk)
    assert not (desk.content_packs / "evil.md").exists() and not (tmp_path / "evil.md").exists()
    unchanged()


def test_a_crash_before_the_pointer_moves_leaves_the_old_content(
    desk: AppPaths, unchanged: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    packs = desk.content_packs / "packs"

    def rename_fails(src: Any, dst: Any) -> None:
        if Path(dst).parent == packs:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    pack = build_pack(mini("quixotical"), HUB, 2, WHEN)
    monkeypatch.setattr(os, "replace", rename_fails)
    with pytest.raises(ContentPackError, match=r"cannot put the pack in place .No space left"):
        install_pack(pack, paths=desk)
    unchanged()

    def pointer_fails(src: Any, dst: Any) -> None:
        if Path(dst).name == "current.json":
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", pointer_fails)
    with pytest.raises(ContentPackError, match=r"cannot switch to the new content"):
        install_pack(pack, paths=desk)
    unchanged()

    monkeypatch.setattr(os, "replace", real_replace)
    assert install_pack(pack, paths=desk).version == 2  # and a retry goes through
    assert finds(desk, "quixotical")


def test_an_install_overtaken_by_a_newer_one_is_refused(desk: AppPaths) -> None:
    """The app and ``mrc`` installing at once: the older pack may not win."""
    newer = build_pack(mini("xylophonic"), HUB, 3, WHEN)
    done: list[int] = []

    def meanwhile(stage: str, n: int, total: int) -> None:
        if not done:
            done.append(install_pack(newer, paths=desk, reindex=False).version)

    with pytest.raises(ContentPackError, match="version 3 was installed meanwhile"):
        install_pack(build_pack(mini("quixotical"), HUB, 2, WHEN), paths=desk, progress=meanwhile)
    assert done == [3] and installed_content(desk).version == 3
    assert sorted(p.name for p in (desk.content_packs / "packs").iterdir()) == ["1", "3"]
    assert finds(desk, "xylophonic")


def test_cancelling_an_install_changes_nothing(
    desk: AppPaths, unchanged: Callable[[], None]
) -> None:
    with pytest.raises(ContentPackError, match="cancelled"):
        install_pack(
            build_pack(mini("quixotical"), HUB, 2, WHEN), paths=desk, cancelled=lambda: True
        )
    unchanged()


def test_a_damaged_pointer_falls_back_to_the_shipped_content(
    desk: AppPaths, caplog: pytest.LogCaptureFixture
) -> None:
    pointer = desk.content_packs / "current.json"
    good = pointer.read_bytes()
    for damage in (b"{not json", b"[]", b'{"version": 1}', good.replace(b'"packs/1"', b'"../x"')):
        pointer.write_bytes(damage)
        assert content_dir() == shipped_content_dir()
        assert installed_content(desk).source == "shipped"
    assert "content pointer damaged" in caplog.text
    pointer.write_bytes(good)
    shutil.rmtree(desk.content_packs / "packs" / "1")
    assert content_dir() == shipped_content_dir()


def test_shipped_content_has_a_version_too(
    desk: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "app" / "content"
    shutil.copytree(shipped_content_dir(), shipped)
    monkeypatch.setattr(paths_module, "resource_root", lambda: tmp_path / "app")
    assert content_dir() == desk.content_packs / "packs" / "1" / "content"
    (shipped / "pack-version").write_text("4\n")  # an upgrade shipped newer content
    assert content_dir() == shipped
    assert installed_content(desk).version == 4
    with pytest.raises(ContentPackError, match=r"version 3, the content in use is version 4"):
        install_pack(build_pack(mini("quixotical"), HUB, 3, WHEN), paths=desk)


# --- from the hub ---------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


def edited_copy(folder: Path, word: str) -> Path:
    """The shipped content with one article changed."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(shipped_content_dir(), folder)
    article = folder / PASSPORT
    text = article.read_text("utf-8")
    article.write_text(text.replace("Your passport is yours.", f"Your passport is {word}."))
    return folder


def test_mrc_sync_brings_each_published_pack_and_refuses_a_tampered_one(
    tmp_path: Path, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    from mrc_desktop.hub.cli import main as hub_cli

    desk = enrolled_desk(tmp_path, "a", hub)  # enrolment saved the hub key in desk.db
    paths = app_paths()
    first = sync(desk, hub)
    assert first.ok and first.content is not None
    assert (first.content.hub_version, first.content.installed) == (None, False)

    folder = edited_copy(tmp_path / "edited", "zanzibarite")
    assert hub_cli(["content", "publish", str(folder), "--db", str(tmp_path / "hub.db")]) == 0
    assert "published content pack version 1" in capsys.readouterr().out
    steps: list[str] = []
    report = sync(desk, hub, progress=lambda p: steps.append(p.stage))
    assert report.ok and report.content is not None and report.content.installed
    assert content_dir() == paths.content_packs / "packs" / "1" / "content"
    assert (content_dir() / PASSPORT).read_bytes() == (folder / PASSPORT).read_bytes()
    assert {"content", "index"} <= set(steps)
    assert finds(paths, "zanzibarite")
    assert not ensure_index(paths.content_db, content_dir()).rebuilt  # indexed by the sync

    assert publish_folder(hub.storage, edited_copy(folder, "quixotical")).version == 2
    report = sync(desk, hub)
    assert report.content is not None and report.content.current.version == 2
    assert finds(paths, "quixotical") and not finds(paths, "zanzibarite")
    assert sync(desk, hub).content == type(report.content)(report.content.current, 2, False)

    # A pack altered at the hub (its announced size and hash made to match) is refused,
    # and the case sync still succeeds.
    info = publish_folder(hub.storage, edited_copy(folder, "xylophonic"))
    data = bytearray(hub.storage.content_pack_data(info.version) or b"")
    data[len(data) // 2] ^= 0xFF
    with hub.storage._transaction() as tx:  # type: ignore[attr-defined]
        tx.execute(
            "update content_packs set data = ?, sha256 = ? where version = ?",
            bytes(data),
            hashlib.sha256(data).hexdigest(),
            info.version,
        )
    before = snapshot(paths)
    report = sync(desk, hub)
    assert report.ok and report.content is None
    assert report.content_error is not None
    assert report.content_error.startswith("the hub's content pack was refused: ")
    assert snapshot(paths) == before and finds(paths, "quixotical")


# --- the commands ---------------------------------------------------------------------------


def test_mrc_content_install_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = app_paths()
    assert mrc(["content", "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("content version 0 (shipped with MRC Desk)") and "no hub key" in out

    pack = tmp_path / "update.mrcpack"
    pack.write_bytes(build_pack(mini("quixotical"), HUB, 2, WHEN))
    assert mrc(["content", "install", str(pack)]) == 2  # no hub key: not enrolled
    assert "no hub key" in capsys.readouterr().err

    pin(paths)
    assert mrc(["content", "install", str(pack)]) == 0
    assert (
        capsys.readouterr().out
        == f"installed content version 2, published {WHEN} (a pack from the hub)\n"
    )
    assert mrc(["content", "install", str(pack)]) == 1
    err = capsys.readouterr().err
    assert "the same version: this pack is version 2" in err
    assert "the content in use is unchanged (version 2)" in err
    assert mrc(["content", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == {
        "version": 2,
        "published_at": WHEN,
        "source": "pack",
        "root": str(paths.content_packs / "packs" / "2" / "content"),
        "hub_key": HUB.public.hex,
    }
    assert mrc(["search", "quixotical", "--lang", "en"]) == 0
    assert "keep-your-passport" in capsys.readouterr().out
    pack.write_bytes(b"not a pack at all")
    assert mrc(["content", "install", str(pack)]) == 1
    assert "not an MRC Desk content pack" in capsys.readouterr().err


def test_mrc_content_update_before_enrolment_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mrc_desktop.cases.schema import open_case_store
    from tests.fast_keys import FAST, PASS

    paths = app_paths()
    paths.data.mkdir(parents=True)
    open_case_store(paths.cases_db, PASS, create=True, params=FAST).close()
    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    assert mrc(["content", "update"]) == 2
    assert "run mrc enrol --hub URL" in capsys.readouterr().err


@pytest.mark.slow
def test_mrc_content_update_against_mrc_hub_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from mrc_desktop.hub.cli import main as hub_cli
    from tests.fast_keys import PASS
    from tests.hub.test_serve import running_hub
    from tests.sync.test_end_to_end import desk_home

    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    hub_db = str(tmp_path / "hub.db")
    assert hub_cli(["centre", "add", "Centre North", "--db", hub_db]) == 0
    desk_home(tmp_path, "a", monkeypatch)
    with running_hub(hub_db) as hub:
        assert mrc(["enrol", "--hub", hub.base_url]) == 0
        code = re.search(r"enrolment code: (\S+)", capsys.readouterr().out)[1]  # type: ignore[index]
        assert hub_cli(["desk", "approve", code, "--db", hub_db]) == 0
        assert mrc(["enrol", "--hub", hub.base_url, "--code", code]) == 0
        capsys.readouterr()
        assert mrc(["content", "update"]) == 0
        assert "the hub has published no content pack" in capsys.readouterr().out

        folder = edited_copy(tmp_path / "edited", "zanzibarite")
        assert hub_cli(["content", "publish", str(folder), "--db", hub_db]) == 0
        capsys.readouterr()
        assert mrc(["content", "update"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("installed content version 1, published ")
        assert mrc(["content", "update"]) == 0
        assert capsys.readouterr().out.startswith("up to date: content version 1")
    assert finds(app_paths(), "zanzibarite")
    assert mrc(["content", "status"]) == 0
    assert "(a pack from the hub)" in capsys.readouterr().out
