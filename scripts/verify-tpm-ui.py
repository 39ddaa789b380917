#!/usr/bin/env python3
"""Checks one TPM USIG UI without minlab's code: rebuilds the TPMS_ATTEST the TPM must have
signed (TPM 2.0 Part 2, TPMS_ATTEST / TPMS_SESSION_AUDIT_INFO) from the UI and public
values, recomputes the session audit digest of the NV_Read / NV_Increment / NV_Read chain
(Part 1, "Session Audit") with hashlib, and has openssl check the ECDSA signature with the
public key tpm2-tools exported.

    minlab tpm sign --message-hex 50524550 > ui.json
    tpm2_readpublic -c 0x81000010 -f pem -o key.pem     # prints "qualified name: ..."
    tpm2_nvreadpublic 0x1500020                           # prints "name: ..."
    scripts/verify-tpm-ui.py ui.json key.pem QUALIFIED_NAME NV_NAME

Exit code 0 and "VERIFIED" when the UI holds; 1 with the reason when it does not; 2 on bad
usage or input; 3 when openssl is missing. Only the Python standard library and the openssl command are used.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

TPM_GENERATED_VALUE = 0xFF544347
TPM_ST_ATTEST_SESSION_AUDIT = 0x8016
TPM_CC_NV_READ = 0x0000014E
TPM_CC_NV_INCREMENT = 0x00000134
TPM_RH_OWNER = 0x40000001


def h(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def be(value, size):
    return value.to_bytes(size, "big")


def sized(data):
    """A TPM2B: 2-byte big-endian size, then the bytes."""
    return be(len(data), 2) + data


def chain_digest(nv_name, v):
    """The audit digest after NV_Read -> v, NV_Increment, NV_Read -> v + 1, from zeros."""
    read_cp = h(be(TPM_CC_NV_READ, 4), be(TPM_RH_OWNER, 4), nv_name, be(8, 2), be(0, 2))

    def read_rp(value):
        return h(be(0, 4), be(TPM_CC_NV_READ, 4), be(8, 2), be(value, 8))

    inc_cp = h(be(TPM_CC_NV_INCREMENT, 4), be(TPM_RH_OWNER, 4), nv_name)
    inc_rp = h(be(0, 4), be(TPM_CC_NV_INCREMENT, 4))
    d = bytes(32)
    d = h(d, read_cp, read_rp(v))
    d = h(d, inc_cp, inc_rp)
    return h(d, read_cp, read_rp(v + 1))


def der_integer(raw):
    body = raw.lstrip(b"\0") or b"\0"
    if body[0] & 0x80:
        body = b"\0" + body
    return b"\x02" + bytes([len(body)]) + body


def der_signature(r, s):
    body = der_integer(r) + der_integer(s)
    return b"\x30" + bytes([len(body)]) + body


def fail(why):
    print(f"NOT VERIFIED: {why}")
    sys.exit(1)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ui_path, key_pem, signer_name_hex, nv_name_hex = sys.argv[1:]
    try:
        with open(ui_path) as f:
            ui = json.load(f)
        message = bytes.fromhex(ui["message_hex"])
        counter = int(ui["counter"])
        base = int(ui["counter_base"])
        r, s = bytes.fromhex(ui["r"]), bytes.fromhex(ui["s"])
        clock = (int(ui["clock"]), int(ui["reset_count"]), int(ui["restart_count"]))
        safe, firmware = bool(ui["safe"]), int(ui["firmware_version"])
        signer_name = bytes.fromhex(signer_name_hex)
        nv_name = bytes.fromhex(nv_name_hex)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"bad input: {e!r}", file=sys.stderr)
        sys.exit(2)
    if counter < 1 or base < 0 or len(r) != 32 or len(s) != 32:
        fail("counter 0, a negative base or a malformed signature")
    for what, name in (("qualified name", signer_name), ("NV name", nv_name)):
        if len(name) != 34 or name[:2] != b"\x00\x0b":
            fail(f"the {what} is not a SHA-256 TPM name")
    v = base + counter - 1  # the TPM counter value the chain read first
    if v + 1 >= 1 << 64 or not all(0 <= x < 1 << n for x, n in zip(clock, (64, 32, 32))):
        fail("a value out of the TPM's range")
    if not 0 <= firmware < 1 << 64:
        fail("a value out of the TPM's range")

    attest = (
        be(TPM_GENERATED_VALUE, 4)
        + be(TPM_ST_ATTEST_SESSION_AUDIT, 2)
        + sized(signer_name)  # qualifiedSigner
        + sized(h(message))  # extraData = SHA-256(message)
        + be(clock[0], 8)  # clockInfo
        + be(clock[1], 4)
        + be(clock[2], 4)
        + be(1 if safe else 0, 1)
        + be(firmware, 8)
        + be(1, 1)  # exclusiveSession = YES
        + sized(chain_digest(nv_name, v))  # sessionDigest
    )
    signature = der_signature(r, s)
    with tempfile.TemporaryDirectory() as tmp:
        attest_path = os.path.join(tmp, "attest.bin")
        sig_path = os.path.join(tmp, "sig.der")
        with open(attest_path, "wb") as f:
            f.write(attest)
        with open(sig_path, "wb") as f:
            f.write(signature)
        try:
            check = subprocess.run(
                ["openssl", "dgst", "-sha256", "-verify", key_pem, "-signature", sig_path,
                 attest_path],
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            print("cannot check: the openssl command is not installed", file=sys.stderr)
            sys.exit(3)
    if check.returncode != 0:
        fail(f"openssl: {(check.stdout + check.stderr).strip()}")
    print(f"VERIFIED: counter {counter} (TPM counter {v} -> {v + 1}) for message "
          f"{message.hex()}, attestation {len(attest)} bytes")


if __name__ == "__main__":
    main()
