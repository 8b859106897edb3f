#!/usr/bin/python3
"""The Python side of keyplane's interop tests: Python's cryptography package
(Debian's python3-cryptography) acting as the peer.

Reads one JSON request on stdin and writes one JSON answer on stdout. Bytes
travel as hex; secrets (Fernet keys, passphrases) travel only on stdin, never
on the command line. A request is {"op": NAME, ...}; the ops are listed in
OPS at the bottom. Failures the caller expects (a bad signature, an invalid
token, a wrong password) are reported in the answer; anything else raises,
and the traceback on stderr fails the Go test.
"""

import json
import os
import sys

import cryptography
import cryptography.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _h(s):
    return bytes.fromhex(s) if s else b""


def _spki(pub):
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _describe(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        return "rsa-%d" % pub.key_size
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return "ec-" + pub.curve.name
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return "ed25519"
    return type(pub).__name__


def rsa_oaep_encrypt(req):
    """Encrypt to keyplane's RSA public key (SPKI PEM) with OAEP, once per
    item: {"hash": "sha256", "label_hex": "...", "plaintext_hex": "..."}."""
    pub = serialization.load_pem_public_key(req["spki_pem"].encode())
    out = []
    for it in req["items"]:
        h = HASHES[it["hash"]]
        label = _h(it.get("label_hex")) or None
        ct = pub.encrypt(_h(it["plaintext_hex"]), padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=label))
        out.append(ct.hex())
    return {"ciphertexts_hex": out}


def _verify(pub, scheme, msg, sig):
    if scheme.startswith("rsa-pss-"):
        h = HASHES[scheme[len("rsa-pss-"):]]
        # keyplane signs PSS with a salt as long as the hash (what TLS uses).
        pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h()), salt_length=padding.PSS.DIGEST_LENGTH), h())
    elif scheme.startswith("rsa-pkcs1v15-"):
        pub.verify(sig, msg, padding.PKCS1v15(), HASHES[scheme[len("rsa-pkcs1v15-"):]]())
    elif scheme.startswith("ecdsa-"):
        pub.verify(sig, msg, ec.ECDSA(HASHES[scheme[len("ecdsa-"):]]()))
    elif scheme == "ed25519":
        pub.verify(sig, msg)
    else:
        raise ValueError("unknown scheme " + scheme)


def verify(req):
    """Verify signatures, one per item: {"spki_pem", "scheme",
    "message_hex", "signature_hex"}; answer one boolean per item."""
    out = []
    for it in req["items"]:
        pub = serialization.load_pem_public_key(it["spki_pem"].encode())
        try:
            _verify(pub, it["scheme"], _h(it["message_hex"]), _h(it["signature_hex"]))
            out.append(True)
        except InvalidSignature:
            out.append(False)
    return {"valid": out}


def genkey_sign(req):
    """Make a key, write it as PKCS#8 encrypted with BestAvailableEncryption,
    and sign a message with it in every scheme that fits (PSS with
    MAX_LENGTH salt, as the cryptography guide does)."""
    kind, msg = req["type"], _h(req["message_hex"])
    if kind.startswith("rsa-"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
        sigs = {
            "rsa-pss-sha256": key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256()),
            "rsa-pkcs1v15-sha256": key.sign(msg, padding.PKCS1v15(), hashes.SHA256()),
        }
    elif kind == "ec-p256":
        key = ec.generate_private_key(ec.SECP256R1())
        sigs = {"ecdsa-sha256": key.sign(msg, ec.ECDSA(hashes.SHA256()))}
    elif kind == "ec-p384":
        key = ec.generate_private_key(ec.SECP384R1())
        sigs = {"ecdsa-sha384": key.sign(msg, ec.ECDSA(hashes.SHA384()))}
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        sigs = {"ed25519": key.sign(msg)}
    else:
        raise ValueError("unknown key type " + kind)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(req["passphrase"].encode()),
    )
    return {"pkcs8_pem": pem.decode(), "spki_pem": _spki(key.public_key()), "signatures": {k: v.hex() for k, v in sigs.items()}}


def load_private(req):
    """Load a PEM private key (encrypted with a password, or not) and
    return its public key; report a wrong password as such."""
    pw = req.get("passphrase")
    try:
        key = serialization.load_pem_private_key(req["pem"].encode(), pw.encode() if pw is not None else None)
    except (ValueError, TypeError) as e:
        return {"error": str(e)}
    return {"spki_pem": _spki(key.public_key()), "type": _describe(key.public_key())}


def load_spki(req):
    """Load SPKI PEM public keys and write each back as DER."""
    out = []
    for pem in req["pems"]:
        pub = serialization.load_pem_public_key(pem.encode())
        der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        out.append({"der_hex": der.hex(), "type": _describe(pub)})
    return {"keys": out}


def _fernet(keys):
    fs = [Fernet(k.encode()) for k in keys]
    return fs[0] if len(fs) == 1 else MultiFernet(fs)


def fernet_generate_key(req):
    return {"key": Fernet.generate_key().decode()}


def fernet_encrypt(req):
    """Encrypt messages with the first key (MultiFernet when several keys),
    at a given time when "at" is set."""
    f = _fernet(req["keys"])
    at = req.get("at")
    out = []
    for m in req["messages_hex"]:
        tok = f.encrypt(_h(m)) if at is None else f.encrypt_at_time(_h(m), at)
        out.append(tok.decode())
    return {"tokens": out}


def fernet_decrypt(req):
    """Decrypt tokens; ttl (seconds) and now are optional, as in pyca."""
    f = _fernet(req["keys"])
    ttl, now = req.get("ttl"), req.get("now")
    out = []
    for tok in req["tokens"]:
        try:
            if now is not None:
                m = f.decrypt_at_time(tok.encode(), ttl, now)
            else:
                m = f.decrypt(tok.encode(), ttl)
            out.append({"message_hex": m.hex()})
        except InvalidToken:
            out.append({"invalid": True})
    return {"results": out}


def fernet_rotate(req):
    f = MultiFernet([Fernet(k.encode()) for k in req["keys"]])
    return {"tokens": [f.rotate(t.encode()).decode() for t in req["tokens"]]}


def fernet_timestamp(req):
    f = Fernet(req["keys"][0].encode())
    return {"timestamps": [f.extract_timestamp(t.encode()) for t in req["tokens"]]}


def aesgcm(req):
    """AES-GCM with a key given on stdin: decrypt keyplane's sealed
    messages (nonce || ciphertext || tag) and seal messages the same way."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    g = AESGCM(_h(req["key_hex"]))
    aad = _h(req.get("aad_hex")) or None
    opened = []
    for sealed in req.get("open_hex", []):
        b = _h(sealed)
        try:
            opened.append({"message_hex": g.decrypt(b[:12], b[12:], aad).hex()})
        except cryptography.exceptions.InvalidTag:
            opened.append({"invalid": True})
    out = []
    for m in req.get("seal_hex", []):
        nonce = os.urandom(12)
        out.append((nonce + g.encrypt(nonce, _h(m), aad)).hex())
    return {"opened": opened, "sealed_hex": out}


def version(req):
    return {"version": cryptography.__version__}


OPS = {
    "version": version,
    "aesgcm": aesgcm,
    "rsa-oaep-encrypt": rsa_oaep_encrypt,
    "verify": verify,
    "genkey-sign": genkey_sign,
    "load-private": load_private,
    "load-spki": load_spki,
    "fernet-generate-key": fernet_generate_key,
    "fernet-encrypt": fernet_encrypt,
    "fernet-decrypt": fernet_decrypt,
    "fernet-rotate": fernet_rotate,
    "fernet-timestamp": fernet_timestamp,
}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(OPS[request["op"]](request), sys.stdout)
