"""The deployed console in a real Streamlit process (`streamlit run app/server.py`, as on a public
URL) driven by headless Chromium: only the sign-in page until signed in, then the console acting as
that person, and after sign-out the sign-in page again. Its OIDC button is Streamlit's st.login,
configured from the environment: it sends the browser to the provider's authorize URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher

from tests.auth.conftest import JWT_SECRET
from tests.servers import ROOT, Server, free_port
from tests.utils import Champion, headless_chromium, start_console

PASSWORD = "lea-correct-horse-battery"
OTTO_PASSWORD = "otto-correct-horse-battery"  # the user whose name is under attack
IDP_LABEL = "Example IdP"


@pytest.fixture(scope="module")
def discovery() -> Iterator[str]:
    """An OIDC discovery document (static JSON) as a provider publishes it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    document = json.dumps(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/certs",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    ).encode()

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            return

    server.RequestHandlerClass = Discovery
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"{base}/.well-known/openid-configuration"
    server.shutdown()


@pytest.fixture(scope="module")
def deployed_console(champion: Champion, discovery: str, tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("deployed-console")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    env = {
        "API_URL": "http://127.0.0.1:9",  # never reached before sign-in; unreachable after is fine
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "CONSOLE_LOGIN": "required",
        "CONSOLE_USERS": f"lea:lead:{hasher.hash(PASSWORD)};otto:lead:{hasher.hash(OTTO_PASSWORD)}",
        "JWT_SECRET": JWT_SECRET,
        "API_RETRIES": "0",
        "OIDC_CLIENT_ID": "credit-console",
        "OIDC_CLIENT_SECRET": "oidc-client-secret-for-tests",
        "OIDC_SERVER_METADATA_URL": discovery,
        "OIDC_REDIRECT_URI": f"{url}/oauth2callback",
        "OIDC_COOKIE_SECRET": "cookie-secret-for-tests-0123456789abcdef",
        "OIDC_PROVIDER_LABEL": IDP_LABEL,
    }
    server = start_console(env, workdir / "streamlit.log", ROOT / "app" / "server.py", port)
    yield server
    server.stop()


# Counts the console's finished script runs (Streamlit marks its root while one runs), so a test can
# wait for the answer to a submit even when the page looks the same before and after it.
COUNT_RUNS = """() => {
    if (window.finishedRuns !== undefined) return window.finishedRuns;
    window.finishedRuns = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    let running = false;
    new MutationObserver(() => {
        const state = app.getAttribute("data-test-script-state");
        if (state === "running") running = true;
        else if (running && state === "notRunning") { running = false; window.finishedRuns += 1; }
    }).observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
    return 0;
}"""


def _sign_in(page: Any, name: str, password: str) -> None:
    """Submit the sign-in form and wait until the console has answered it."""
    runs = page.evaluate(COUNT_RUNS)
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_function(f"window.finishedRuns > {runs}", timeout=30_000)


@pytest.mark.browser
def test_only_the_sign_in_page_until_signed_in_and_after_sign_out(
    chromium: Path,
    deployed_console: Server,
    discovery: str,
    tmp_path,
) -> None:
    with headless_chromium(chromium, tmp_path / "profile") as browser:
        page = browser.new_page()
        for path in ("", "Model_registry", "Score_a_client"):
            page.goto(f"{deployed_console.url}/{path}", wait_until="domcontentloaded")
            page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
            page.get_by_role("button", name=f"Sign in with {IDP_LABEL}").wait_for(timeout=10_000)
            assert page.get_by_text("Alias history").count() == 0
            assert page.get_by_text("Signed in as").count() == 0
        page.screenshot(path=str(tmp_path / "sign_in.png"), full_page=True)

        # Five wrong passwords for a name, and even the right one is then held back (30 s, doubling).
        for _ in range(5):
            _sign_in(page, "otto", "guess")
            assert page.get_by_text("Wrong user name or password.").count() == 1
        _sign_in(page, "otto", OTTO_PASSWORD)
        page.get_by_text("Too many failed sign-ins for 'otto'").wait_for(timeout=30_000)
        assert page.get_by_text("Signed in as").count() == 0

        _sign_in(page, "lea", PASSWORD)  # another name is not slowed down
        page.get_by_role("heading", name="Score a client").wait_for(timeout=60_000)
        page.get_by_text("Signed in as").wait_for(timeout=10_000)
        assert page.get_by_text(PASSWORD).count() == 0

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        page.goto(f"{deployed_console.url}/Model_registry", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        assert page.get_by_text("Signed in as").count() == 0

        # The provider's button is Streamlit's st.login, configured from OIDC_* by app/server.py.
        page = browser.new_page()
        page.goto(deployed_console.url, wait_until="domcontentloaded")
        authorize = discovery.replace("/.well-known/openid-configuration", "/authorize")
        with page.expect_request(lambda request: request.url.startswith(authorize), timeout=60_000) as sent:
            page.get_by_role("button", name=f"Sign in with {IDP_LABEL}").click()
        query = parse_qs(urlparse(sent.value.url).query)
        assert query["client_id"] == ["credit-console"]
        assert query["redirect_uri"] == [f"{deployed_console.url}/oauth2callback"]

    for secret in (PASSWORD, OTTO_PASSWORD, "guess"):
        assert secret not in deployed_console.log()
