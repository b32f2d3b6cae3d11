"""Build a PyInstaller one-folder bundle of MRC Desk for this operating system.

    .venv/bin/python build_installer.py [--dist DIR] [--smoke-test]

The bundle holds the app, the compiled catalogs, the bundled Noto fonts with
their OFL licence and the content folder; Qt modules MRC Desk does not use
(QML/Quick, WebEngine, 3D, multimedia…) are left out. It prints the bundle size
(target: at most 250 MB). ``--smoke-test`` then starts the bundled program
offscreen to its main window and back out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NAME = "mrc-desktop"
SIZE_TARGET_MB = 250
# Qt modules never imported by MRC Desk; excluding them keeps their libraries out.
UNUSED_QT = [
    "QtQml",
    "QtQuick",
    "QtQuickWidgets",
    "QtQuickControls2",
    "QtQuick3D",
    "QtWebEngineCore",
    "QtWebEngineWidgets",
    "QtWebChannel",
    "QtWebSockets",
    "Qt3DCore",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtCharts",
    "QtDataVisualization",
    "QtBluetooth",
    "QtNfc",
    "QtPositioning",
    "QtLocation",
    "QtSensors",
    "QtSerialPort",
    "QtSql",
    "QtTest",
    "QtDesigner",
    "QtHelp",
    "QtOpenGL",
    "QtOpenGLWidgets",
    "QtSvg",
    "QtSvgWidgets",
    "QtNetwork",
    "QtRemoteObjects",
    "QtScxml",
    "QtStateMachine",
    "QtTextToSpeech",
    "QtUiTools",
    "QtXml",
    "QtConcurrent",
    "QtDBus",
    "QtAxContainer",
    "QtSpatialAudio",
    "QtHttpServer",
    "QtGraphs",
]


# The hub runs on a server, never on a desk: its package and server-only libraries stay out
# of the desktop bundle (collect-submodules would otherwise pull them in: ~20 MB).
SERVER_ONLY = [
    "mrc_desktop.hub",
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "psycopg_binary",
    "psycopg_pool",
    "schemathesis",
    "hypothesis",
    "pytest",
]


def desktop_modules() -> list[str]:
    """Every module of the app except the hub's (a server program)."""
    names = []
    for path in sorted((ROOT / "mrc_desktop").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not any(name == s or name.startswith(s + ".") for s in SERVER_ONLY):
            names.append(name)
    return names


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def build(dist: Path, work: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n.py"), "compile"], check=True)
    entry = work / "mrc_desktop_entry.py"
    work.mkdir(parents=True, exist_ok=True)
    entry.write_text("from mrc_desktop.app import main\n\nraise SystemExit(main())\n")
    sep = os.pathsep
    args = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--onedir",
        "--name",
        NAME,
        "--distpath",
        str(dist),
        "--workpath",
        str(work / "build"),
        "--specpath",
        str(work),
        "--log-level",
        "WARN",
        "--add-data",
        f"{ROOT / 'mrc_desktop' / 'fonts'}{sep}mrc_desktop/fonts",
        "--add-data",
        f"{ROOT / 'content'}{sep}content",
        "--paths",
        str(ROOT),
        "--collect-data",
        "babel",
    ]
    for mo in sorted((ROOT / "locales").glob("*/LC_MESSAGES/*.mo")):
        target = mo.parent.relative_to(ROOT)
        args += ["--add-data", f"{mo}{sep}{target.as_posix()}"]
    for module in UNUSED_QT:
        args += ["--exclude-module", f"PySide6.{module}"]
    for module in desktop_modules():  # screens are imported lazily, so name them all
        args += ["--hidden-import", module]
    for module in SERVER_ONLY:
        args += ["--exclude-module", module]
    args += ["--exclude-module", "tkinter", str(entry)]
    subprocess.run(args, check=True, cwd=work)
    return dist / NAME


def trim(bundle: Path) -> int:
    """Drop CLDR data and Qt translations for languages MRC Desk does not offer; return bytes."""
    sys.path.insert(0, str(ROOT))
    from mrc_desktop.i18n import LANGUAGES

    keep = {*LANGUAGES, "root"}
    removed = 0
    for dat in bundle.rglob("babel/locale-data/*.dat"):
        if dat.stem.split("_")[0] not in keep:
            removed += dat.stat().st_size
            dat.unlink()
    for qm in bundle.rglob("PySide6/Qt/translations/*.qm"):
        if qm.stem.rsplit("_", 1)[-1] not in keep:
            removed += qm.stat().st_size
            qm.unlink()
    return removed


def smoke_test(bundle: Path) -> str:
    """Start the bundled program offscreen with a set-up desk; return its marker line."""
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "config"
        config.mkdir()
        values = {"first_run_done": True, "centre_name": "Smoke test", "language": "ar"}
        (config / "settings.json").write_text(json.dumps({"version": 1, "values": values}))
        env = {**os.environ, "MRC_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        result = subprocess.run(
            [str(bundle / NAME), "--quit-after-show"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SystemExit(f"bundled app failed ({result.returncode}):\n{result.stderr}")
        return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--smoke-test", action="store_true")
    args = parser.parse_args()
    bundle = build(args.dist.resolve(), args.work.resolve())
    print(f"trimmed: {trim(bundle) / 1_000_000:.1f} MB of unused locale data")
    size_mb = folder_size(bundle) / 1_000_000
    verdict = "within" if size_mb <= SIZE_TARGET_MB else "OVER"
    print(f"bundle: {bundle}")
    print(f"bundle size: {size_mb:.1f} MB ({verdict} the {SIZE_TARGET_MB} MB target)")
    if args.smoke_test:
        print(f"smoke test: {smoke_test(bundle)}")
    return 0 if size_mb <= SIZE_TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
