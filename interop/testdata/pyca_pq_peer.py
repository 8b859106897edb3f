#!/usr/bin/env python3
"""The Python side of keyplane's post-quantum and HPKE interop tests:
Python's cryptography 48 (the default python3 of these machines, not
Debian's python3-cryptography 38, which has none of it) acting as the peer.

The same protocol as pyca_peer.py: one JSON request on stdin, one JSON
answer on stdout, bytes as hex, PEM as text. Expected failures (a bad
signature, a message that does not open) are reported in the answer;
anything else raises and fails the Go test.
"""

import json
import sys

import cryptography
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, mlkem, x25519

GENERATORS = {
    "x25519": x25519.X25519PrivateKey.generate,
    "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ml-kem-768": mlkem.MLKEM768PrivateKey.generate,
    "ml-kem-1024": mlkem.MLKEM1024PrivateKey.generate,
    "ml-dsa-44": mldsa.MLDSA44PrivateKey.generate,
    "ml-dsa-65": mldsa.MLDSA65PrivateKey.generate,
    "ml-dsa-87": mldsa.MLDSA87PrivateKey.generate,
}

# keyplane's suite names (package hpke) in pyca's terms.
SUITES = {
    "hpke-x25519": (hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM),
    "hpke-p256": (hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM),
    "hpke-mlkem768": (hpke.KEM.MLKEM768, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    "hpke-xwing": (hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}


def _h(s):
    return bytes.fromhex(s) if s else b""


def _spki(pub):
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _pkcs8(priv, password=None):
    enc = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc).decode()


def _pkcs8_der(priv):
    return priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _load_pub(pem):
    return serialization.load_pem_public_key(pem.encode())


def _load_priv(pem, password=None):
    return serialization.load_pem_private_key(pem.encode(), password.encode() if password else None)


def version(_req):
    return {"version": cryptography.__version__}


def generate(req):
    """Keys of the given algorithms: private PKCS#8 PEM (plain, and
    encrypted with req["password"]), its DER, and the SPKI PEM."""
    out = []
    for alg in req["algs"]:
        k = GENERATORS[alg]()
        out.append({
            "private_pem": _pkcs8(k),
            "encrypted_pem": _pkcs8(k, req["password"]),
            "private_der_hex": _pkcs8_der(k).hex(),
            "spki_pem": _spki(k.public_key()),
        })
    return {"keys": out}


def load(req):
    """Load keyplane's private key PEM (with req["password"] if set) and
    answer its public key as SPKI PEM and its PKCS#8 DER as pyca writes it."""
    k = _load_priv(req["private_pem"], req.get("password"))
    return {"spki_pem": _spki(k.public_key()), "private_der_hex": _pkcs8_der(k).hex(), "type": type(k).__name__}


def load_public(req):
    """Load keyplane's SPKI PEM and write it back."""
    pub = _load_pub(req["spki_pem"])
    return {"spki_pem": _spki(pub), "type": type(pub).__name__}


def _recipient_public(suite, pems):
    pubs = [_load_pub(p) for p in pems]
    if suite == "hpke-xwing":  # keyplane's order: the X25519 key, then the ML-KEM key
        return hpke.MLKEM768X25519PublicKey(pubs[1], pubs[0])
    return pubs[0]


def _recipient_private(suite, pems):
    privs = [_load_priv(p) for p in pems]
    if suite == "hpke-xwing":
        return hpke.MLKEM768X25519PrivateKey(privs[1], privs[0])
    return privs[0]


def _suite(name):
    return hpke.Suite(*SUITES[name])


def hpke_seal(req):
    """Seal each plaintext to keyplane's public key(s)."""
    pub = _recipient_public(req["suite"], req["spki_pems"])
    s = _suite(req["suite"])
    info = _h(req.get("info_hex"))
    return {"sealed_hex": [s.encrypt(_h(p), pub, info).hex() for p in req["plaintexts_hex"]]}


def hpke_open(req):
    """Open keyplane's sealed messages with pyca's private key(s)."""
    priv = _recipient_private(req["suite"], req["private_pems"])
    s = _suite(req["suite"])
    info = _h(req.get("info_hex"))
    out = []
    for c in req["sealed_hex"]:
        try:
            out.append({"ok": True, "plaintext_hex": s.decrypt(_h(c), priv, info).hex()})
        except (InvalidTag, ValueError) as e:
            out.append({"ok": False, "plaintext_hex": "", "error": type(e).__name__})
    return {"results": out}


def mldsa_sign(req):
    """Sign with pyca's ML-DSA key, with and without a context."""
    k = _load_priv(req["private_pem"])
    out = []
    for it in req["items"]:
        ctx = _h(it.get("context_hex")) if it.get("has_context") else None
        out.append(k.sign(_h(it["msg_hex"]), ctx).hex() if ctx is not None else k.sign(_h(it["msg_hex"])).hex())
    return {"signatures_hex": out}


def mldsa_verify(req):
    """Verify keyplane's ML-DSA signatures with its SPKI."""
    pub = _load_pub(req["spki_pem"])
    out = []
    for it in req["items"]:
        ctx = _h(it.get("context_hex")) if it.get("has_context") else None
        try:
            if ctx is not None:
                pub.verify(_h(it["sig_hex"]), _h(it["msg_hex"]), ctx)
            else:
                pub.verify(_h(it["sig_hex"]), _h(it["msg_hex"]))
            out.append(True)
        except InvalidSignature:
            out.append(False)
    return {"valid": out}


def mlkem_encapsulate(req):
    """Encapsulate n shared keys to keyplane's ML-KEM public key."""
    pub = _load_pub(req["spki_pem"])
    out = []
    for _ in range(req["n"]):
        shared, ct = pub.encapsulate()
        out.append({"shared_hex": shared.hex(), "ciphertext_hex": ct.hex()})
    return {"items": out}


OPS = {f.__name__: f for f in [version, generate, load, load_public, hpke_seal, hpke_open, mldsa_sign, mldsa_verify, mlkem_encapsulate]}

if __name__ == "__main__":
    req = json.load(sys.stdin)
    json.dump(OPS[req["op"]](req), sys.stdout)
