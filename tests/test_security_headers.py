"""Every page carries a Content Security Policy that allows no inline script."""

import re

import pytest

PAGES = ["/accounts/login/", "/", "/people/", "/people/sync/", "/api/docs/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_csp_that_blocks_inline_scripts(client, hr_admin, path):
    if path != "/accounts/login/":  # the sign-in page sends signed-in people home
        client.force_login(hr_admin.user)

    response = client.get(path)

    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    html = response.content.decode()
    # Any <script> element must load a same-origin file or carry this response's nonce.
    for tag in re.findall(r"<script\b[^>]*>", html):
        nonce = re.search(r'nonce="([^"]+)"', tag)
        assert "src=" in tag or (nonce and f"'nonce-{nonce.group(1)}'" in policy), tag
