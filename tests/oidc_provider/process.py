"""Start and stop the test identity provider (serve.py) from a test."""

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str

    def signed_in_session(self, email: str, password: str) -> requests.Session:
        """A user agent already signed in at the provider (its own login form, CSRF and all)."""
        session = requests.Session()
        login = self.issuer.removesuffix("/o") + "/login/"
        form = session.get(login, timeout=10)
        response = session.post(
            login,
            data={
                "username": email,
                "password": password,
                "csrfmiddlewaretoken": session.cookies["provider_csrf"],
                "next": "/o/.well-known/openid-configuration",
            },
            headers={"Referer": form.url},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return session


@contextmanager
def running_provider(
    *, redirect_uris: list[str], users: list[dict[str, str]], client_id: str = "cxculture"
) -> Iterator[Provider]:
    secret = "provider-secret-" + os.urandom(8).hex()
    config = {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": redirect_uris,
        "users": users,
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(config))
            process.stdin.close()
            line = process.stdout.readline()
            if not line:
                log.seek(0)
                raise RuntimeError("the test identity provider did not start:\n" + log.read())
            yield Provider(json.loads(line)["issuer"], client_id, secret)
        finally:
            process.terminate()
            process.wait(timeout=10)
