"""`critmat serve --ssl-certfile --ssl-keyfile`: HTTPS for real (uvicorn in a subprocess) with a
self-signed certificate made for the test (the `cryptography` package if installed, else the
system's `openssl req`; skipped with the reason if neither), and the session cookie Secure."""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_support import free_port, make_tokens

pytestmark = pytest.mark.slow


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in ``folder``)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if importlib.util.find_spec("cryptography") is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        pkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(pkey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(pkey, hashes.SHA256())
        )
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            pkey.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor openssl is installed: no certificate")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts the test's certificate only."""
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed(folder)
    data = folder / "data"
    tokens = make_tokens(data)
    port = free_port()
    cmd = [sys.executable, "-m", "critmat", "serve", "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(
        [*cmd, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CRITMAT_DATA_DIR": str(data)},
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"critmat serve exited {proc.returncode}:\n{out}\n{err}")
            try:
                if httpx.get(url + "/health", verify=_trusting(cert), timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("critmat serve --ssl-certfile did not answer within 90 s")
            time.sleep(0.3)
        yield url, cert, tokens
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_the_server_speaks_https(tls_server: Any) -> None:
    url, cert, tokens = tls_server
    with httpx.Client(base_url=url, verify=_trusting(cert), timeout=60) as c:
        r = c.get("/me", headers={"Authorization": f"Bearer {tokens['viewer']}"})
        assert r.status_code == 200 and r.json()["role"] == "viewer"
        r = c.get(
            "/indicators/concentration",
            params={"materials": "gallium"},
            headers={"Authorization": f"Bearer {tokens['viewer']}"},
        )
        assert r.status_code == 200 and r.json()["records"]
    # plain HTTP on the TLS port gets no answer; an unknown certificate is refused
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("https://", "http://") + "/health", timeout=5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=5)  # the system's CAs do not know this one


def test_the_session_cookie_is_secure_over_tls(tls_server: Any) -> None:
    url, cert, tokens = tls_server
    with httpx.Client(base_url=url, verify=_trusting(cert), timeout=60) as c:
        form = c.get("/login")
        login_cookie = form.headers["set-cookie"].lower()
        assert "secure" in login_cookie and "httponly" in login_cookie
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf
        r = c.post(
            "/login",
            data={"token": tokens["viewer"], "next": "/", "csrf_token": csrf.group(1)},
            headers={"Origin": url},
        )
        assert r.status_code == 303, r.text
        session = next(
            x for x in r.headers.get_list("set-cookie") if x.startswith("critmat_token=")
        )
        attrs = {a.strip().lower() for a in session.split(";")}
        assert {"secure", "httponly", "samesite=strict"} <= attrs


def test_tls_options_are_checked(tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, "-m", "critmat", "serve", "--data-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out.stderr = " ".join(out.stderr.split())  # the error as one line (rich wraps it)
        return out

    r = serve("--ssl-certfile", str(tmp_path / "cert.pem"))
    assert r.returncode != 0 and "--ssl-certfile needs --ssl-keyfile" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    r = serve(
        "--ssl-certfile", str(tmp_path / "cert.pem"), "--ssl-keyfile", str(tmp_path / "no.pem")
    )
    assert r.returncode != 0 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = serve(
        "--ssl-certfile", str(tmp_path / "cert.pem"), "--ssl-keyfile", str(tmp_path / "key.pem")
    )
    assert r.returncode != 0 and "do not load" in r.stderr and "Traceback" not in r.stderr
