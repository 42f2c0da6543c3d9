"""Run the test identity provider on 127.0.0.1 and a free port.

Reads its configuration as JSON on standard input — `{"client_id", "client_secret",
"redirect_uris": [...], "users": [{"email", "password", "employee_number",
"email_verified" (default true)}]}` — makes an
RS256 key and a fresh SQLite database, registers one confidential client, and prints one JSON
line `{"issuer": ...}` on standard output once it answers. It serves until it is terminated.
"""

import json
import os
import sys
import tempfile
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _LogToStderr(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("provider: " + (format % args) + "\n")


def main() -> None:
    config = json.loads(sys.stdin.read())
    server = _Server(("127.0.0.1", 0), _LogToStderr)
    issuer = f"http://127.0.0.1:{server.server_port}/o"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    workdir = tempfile.mkdtemp(prefix="cxc-test-op-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        CXC_TEST_OP_ISSUER=issuer,
        CXC_TEST_OP_DATABASE=os.path.join(workdir, "provider.sqlite3"),
        CXC_TEST_OP_RSA_KEY=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    for person in config["users"]:
        User.objects.create_user(
            username=person["email"],
            email=person["email"],
            password=person["password"],
            first_name=person.get("employee_number", ""),
            last_name="" if person.get("email_verified", True) else "unverified",
        )
    Application.objects.create(
        name="cxculture",
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(config["redirect_uris"]),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server.set_app(get_wsgi_application())
    print(json.dumps({"issuer": issuer}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
