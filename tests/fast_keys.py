"""Argon2id at its minimum cost, so tests that open encrypted stores stay fast."""

import nacl.pwhash

from mrc_desktop.storage.encrypted import KeyParams

FAST = KeyParams.new(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
MIN_COST = {"ops": nacl.pwhash.argon2id.OPSLIMIT_MIN, "mem": nacl.pwhash.argon2id.MEMLIMIT_MIN}
PASS = "a long passphrase for tests"
