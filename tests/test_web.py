"""The web pages in a real browser (Debian's Chromium through Playwright) against a live gunicorn over the seeds."""

import json
import re
import urllib.parse
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.servers import Gunicorn, reportedly

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
SEEDS = Path(__file__).parent.parent / "seeds"
NAVAL_DRILLS = 15  # "The Kremlin has proposed joint naval exercises to North Korea." (README)
REPORT = "Seoul, Yonhap. Russia has offered joint naval drills to the North, officials said on Monday."
QUOTE = "Russia has offered joint naval drills to the North"
YONHAP = {"id": "yonhap", "name": "Yonhap", "kind": "wire_service", "reliability": "B", "country": "KR"}


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's Chromium, never a downloaded build; quiet and offline."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: .ci/run installs it (apt-get install chromium)")
    return {"executable_path": str(CHROMIUM), "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]}


class Site:
    """A live gunicorn over a seeded temp SQLite database, with one token per scope."""

    def __init__(self, tmp_path):
        env = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}", "REPORTEDLY_SECRET_KEY": ""}
        reportedly(env, "migrate")
        reportedly(env, "seed", str(SEEDS))
        self.tokens = {scope: reportedly(env, "keys", "create", "--name", f"web-{scope}", "--scope", scope)
                       .strip().splitlines()[-1] for scope in ("read", "write", "admin")}
        self.server = Gunicorn(tmp_path / "gunicorn.log", **env).start()
        self.base = self.server.base

    def url(self, path):
        return self.base + path

    def api(self, path, body, scope="admin"):
        response = requests.post(self.url(path), json=body, headers={"Authorization": f"Bearer {self.tokens[scope]}"})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A seeded site shared by the tests that change nothing (refused writes included)."""
    site = Site(tmp_path_factory.mktemp("web-site"))
    yield site
    assert site.server.stop() == 0
    assert not any(t in site.server.logs() for t in site.tokens.values()), "a token reached the log"


@pytest.fixture
def write_site(tmp_path):
    """A seeded site of one's own, for tests that write."""
    site = Site(tmp_path)
    yield site
    assert site.server.stop() == 0
    assert not any(t in site.server.logs() for t in site.tokens.values()), "a token reached the log"


@pytest.fixture
def watched(page):
    """The page, with every console error and uncaught exception collected in page.errors."""
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def sign_in(page, site, scope):
    page.goto(site.url("/login"))
    page.get_by_label("API token").fill(site.tokens[scope])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in.")).to_be_visible()  # waits for the redirect; is_visible() would not


def claim_ids(page):
    """The board's claim ids, once the page a click led to has loaded (evaluate_all does not wait, as locators do)."""
    page.wait_for_load_state("load")
    return [int(x) for x in page.locator("li.claim-row").evaluate_all("rows => rows.map(r => r.dataset.claim)")]


def count(page, status):
    return int(page.locator(f'.count[data-status="{status}"]').inner_text())


def test_board_shows_the_seeds_counts_and_a_screenshot(site, watched):
    watched.set_viewport_size({"width": 1200, "height": 900})
    watched.goto(site.url("/"))
    assert (count(watched, "confirmed"), count(watched, "reported")) == (11, 8)
    assert claim_ids(watched) == list(range(19, 0, -1))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched.screenshot(path=str(SCREENSHOTS / "board.png"), clip={"x": 0, "y": 0, "width": 1200, "height": 1100})
    assert watched.errors == []


def test_bar_segment_filters_by_status(site, page):
    page.goto(site.url("/"))
    page.locator("a.segment.s-reported").click()
    assert "status=reported" in page.url
    assert len(claim_ids(page)) == 8
    assert page.locator("li.claim-row .badge.s-reported").count() == 8


@pytest.mark.parametrize("fill, expected", [
    ({"Origin source id": "nyt"}, [14, 13, 12, 11]),
    ({"Relayed by (source id)": "el-heraldo", "Words in the claim": "train"}, [1]),
    ({"Party (origin group)": "unsc"}, [19, 18, 17]),
    ({"Subject": "UN Security Council", "Minimum confidence": "0.92"}, [18, 17]),
    ({"Published before": "2020-01-01T00:00:00Z", "Minimum confidence": "0.5"}, [19, 18, 17]),
    ({"As known at": "2000-01-01T00:00:00Z"}, []),
])
def test_each_filter_lives_in_the_url(site, page, browser, fill, expected):
    page.goto(site.url("/"))
    for label, value in fill.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Show claims").click()
    assert claim_ids(page) == expected
    shared = browser.new_context().new_page()  # someone else opens the shared link
    shared.goto(page.url)
    assert claim_ids(shared) == expected
    for label, value in fill.items():
        assert shared.get_by_label(label, exact=True).input_value() == value
    shared.context.close()


def test_status_checkboxes_and_keyset_paging(site, page):
    page.goto(site.url("/"))
    page.get_by_label("confirmed", exact=True).check()
    page.get_by_label("Per page").fill("4")
    page.get_by_role("button", name="Show claims").click()
    seen = claim_ids(page)
    while page.get_by_role("link", name="Older claims").count():
        page.get_by_role("link", name="Older claims").click()
        assert "cursor=" in page.url and "status=confirmed" in page.url
        assert page.get_by_label("confirmed", exact=True).is_checked()
        seen += claim_ids(page)
    assert seen == [19, 18, 17, 8, 7, 6, 5, 4, 3, 2, 1]


def test_a_bad_filter_is_shown_beside_its_field(site, page):
    page.goto(site.url("/?min_confidence=lots"))
    assert page.locator("#err-min_confidence").inner_text().startswith("Not a valid number")
    assert page.get_by_label("Minimum confidence").get_attribute("aria-invalid") == "true"


def test_naval_drills_claim_page(site, watched):
    watched.set_viewport_size({"width": 1200, "height": 900})
    watched.goto(site.url(f"/claims/{NAVAL_DRILLS}"))
    assert watched.locator(".verdict .badge").inner_text().startswith("◐ reported")
    assert "single origin South Korean intelligence (B), relayed by El Heraldo" in watched.locator(
        ".explanation").inner_text()
    graph = watched.locator("svg.provenance")
    assert graph.is_visible()
    assert graph.locator("g.source-node").evaluate_all("gs => gs.map(g => g.dataset.source)") == ["rok-nis",
                                                                                                  "el-heraldo"]
    assert watched.locator(".attribution .chain").inner_text() == "South Korean intelligence → El Heraldo"
    assert watched.locator(".timeline li").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched.screenshot(path=str(SCREENSHOTS / "claim.png"), full_page=True)
    assert watched.errors == []


def test_yonhap_confirms_the_naval_drills_and_time_travel_shows_it_reported(write_site, page, browser):
    write_site.api("/v1/sources", YONHAP)
    report = write_site.api("/v1/documents", {"publisher": "yonhap", "title": "Drills", "text": REPORT})
    sign_in(page, write_site, "write")
    page.goto(write_site.url(f"/claims/{NAVAL_DRILLS}"))
    form = page.locator("#add-attribution")
    form.get_by_label("Source", exact=True).select_option("yonhap")
    form.get_by_label("Stance").select_option("supports")
    form.get_by_label("Basis").select_option("secondhand")
    form.get_by_label("Confidence (0 to 1)").fill("0.5")
    form.get_by_label("Document id").fill(str(report["id"]))
    form.get_by_label("Quote (exact words from the document)").fill(QUOTE)
    form.get_by_role("button", name="Add attribution").click()
    assert page.locator(".verdict .badge").inner_text().startswith("● confirmed")
    assert "independent credible origins" in page.locator(".explanation").inner_text()
    expect(page.locator("svg.provenance g.source-node[data-source=yonhap]")).to_have_count(1)
    expect(page.locator(".timeline li")).to_have_count(2)
    page.get_by_role("link", name=f"“{QUOTE}”").click()  # the quote, linked into its document
    assert page.url.startswith(write_site.url(f"/documents/{report['id']}#quote-"))
    assert page.locator("article.document-text mark").inner_text() == QUOTE
    audit = browser.new_context(bypass_csp=True).new_page()
    audit.goto(page.url)
    assert serious_violations(audit) == []  # a page with a highlighted passage, which the seeds have not
    audit.context.close()
    page.go_back()
    before = page.locator("#as_of option").nth(1)  # the first change point: the claim's creation
    page.get_by_label("Show this claim as it was known at").select_option(before.get_attribute("value"))
    page.get_by_role("button", name="Show", exact=True).click()
    assert "as_of=" in page.url
    assert page.locator(".verdict .badge").inner_text().startswith("◐ reported")
    expect(page.locator("#add-attribution")).to_have_count(0)  # no writes into the past
    expect(page.locator("svg.provenance g.source-node[data-source=yonhap]")).to_have_count(0)


def test_a_form_without_its_csrf_token_is_refused(site, page):
    sign_in(page, site, "admin")
    body = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": "0.5"}
    refused = page.request.post(site.url(f"/claims/{NAVAL_DRILLS}/attributions"), form=body)
    assert refused.status == 400 and "CSRF" in refused.text()
    forged = page.request.post(site.url(f"/claims/{NAVAL_DRILLS}/attributions"),
                               form={**body, "csrf_token": "forged"})
    assert forged.status == 400
    page.goto(site.url(f"/claims/{NAVAL_DRILLS}"))
    assert page.locator(".timeline li").count() == 1


def test_a_read_token_sees_no_write_forms_and_a_forged_post_is_403(site, page):
    sign_in(page, site, "read")
    page.goto(site.url(f"/claims/{NAVAL_DRILLS}"))
    assert page.locator("form[method=post]").count() == 1  # sign out only
    assert page.get_by_role("link", name="New claim").count() == 0
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    body = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": "0.5", "csrf_token": csrf}
    forged = page.request.post(site.url(f"/claims/{NAVAL_DRILLS}/attributions"), form=body)
    assert forged.status == 403
    page.goto(site.url("/sources/nyt"))
    assert page.get_by_role("button", name="Save grade").count() == 0


PAGES = ["/", "/?status=reported&source=nyt", f"/claims/{NAVAL_DRILLS}", "/claims/1", "/sources", "/sources/kcna",
         "/documents/1", "/login"]


def pages(site, signed_in):
    """Every kind of page: a claim as known at its creation too, and the new-claim form when signed in."""
    created = requests.get(site.url(f"/v1/claims/{NAVAL_DRILLS}/history")).json()["items"][0]["at"]
    past = f"/claims/{NAVAL_DRILLS}?" + urllib.parse.urlencode({"as_of": created})
    return PAGES + [past] + (["/claims/new"] if signed_in else [])


def serious_violations(page):
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("signed_in", [False, True], ids=["reader", "admin"])
def test_no_console_errors_and_no_serious_accessibility_violation(site, browser, signed_in):
    assert AXE.exists(), "axe-core is missing: make install-test runs npm ci in tests/"
    checked = browser.new_context()  # the real CSP applies: a violation would be a console error
    audited = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    for context in (checked, audited):
        if signed_in:
            sign_in(context.new_page(), site, "admin")
    page, audit = checked.new_page(), audited.new_page()
    errors = []
    page.on("console", lambda m: errors.append((page.url, m.text)) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append((page.url, str(e))))
    found = {}
    for path in pages(site, signed_in):
        assert page.goto(site.url(path)).status == 200
        audit.goto(site.url(path))
        found[path] = serious_violations(audit)
    checked.close()
    audited.close()
    assert errors == []
    assert found == {path: [] for path in pages(site, signed_in)}, json.dumps(found, indent=1)


def test_every_page_works_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, site, "admin")
    for path in pages(site, signed_in=True):
        response = page.goto(site.url(path))
        assert response.status == 200, path
        assert page.locator("h1").count() == 1, path
        assert page.locator("script").count() == 0, path
    page.goto(site.url("/"))
    page.get_by_label("reported", exact=True).check()
    page.get_by_label("Origin source id").fill("el-heraldo")
    page.get_by_role("button", name="Show claims").click()
    assert claim_ids(page) == [16, 10, 9]
    page.goto(site.url(f"/claims/{NAVAL_DRILLS}"))
    page.get_by_label("Show this claim as it was known at").select_option(index=1)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(r"as_of=\d{4}-"))
    expect(page.get_by_role("link", name="Back to now")).to_be_visible()
    context.close()
