"""The foundation in a real browser: logins and navigation by role, invitations, deactivation, password reset."""

import functools
import re
import urllib.error
import urllib.request

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts import actions
from accounts.models import Invitation, Membership, Role, WriteKey
from tests.factories import PASSWORD, make_workspace

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


@pytest.fixture
def page_for(page_for):
    """Logging in is what these tests are about: each page logs in through the login page."""
    return functools.partial(page_for, through_login_page=True)


MAIN_NAV = [
    "Journeys",
    "Templates",
    "Contacts",
    "Segments",
    "Broadcasts",
    "Catalog",
    "Data sources",
    "Outbox",
    "QA",
    "Settings",
]
NEW_PASSWORD = "a-brand-new-passphrase-42"


def main_nav_links(page):
    return page.get_by_role("navigation", name="Main").locator(".nav-link:not(.nav-sublink)")


def settings_links(page):
    return page.get_by_role("list", name="Settings sections").get_by_role("link")


def link_in_last_email(to, path):
    messages = [message for message in mail.outbox if to in message.to]
    assert messages, f"no email to {to}"
    match = re.search(rf"https?://\S+/{path}/\S+", messages[-1].body)
    assert match, messages[-1].body
    return match.group(0)


def api_status(live_app, path, token):
    request = urllib.request.Request(f"{live_app.url}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "role, settings_sections",
    [
        ("admin", ["Members", "API keys", "Sending", "Audit log", "Personal tokens", "Predictions"]),
        ("marketer", ["Personal tokens", "Predictions"]),
        ("qa", ["Personal tokens", "Predictions"]),
    ],
)
def test_it_shows_each_role_only_its_navigation(request, page_for, role, settings_sections):
    user = request.getfixturevalue(role)
    page = page_for(user)

    expect(page).to_have_url(re.compile(r"/journeys$"))
    expect(page.get_by_test_id("current-role")).to_have_text(Role(role).label)
    expect(page.get_by_test_id("workspace-name")).to_have_text("Acme Shop")
    expect(main_nav_links(page)).to_have_text(MAIN_NAV)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("list", name="Settings sections")).to_be_visible()
    expect(settings_links(page)).to_have_text(settings_sections)

    page.goto("/settings/members")
    if role == "admin":
        expect(page.get_by_role("heading", name="Members", exact=True).first).to_be_visible()
        expect(page.get_by_role("table", name="Members")).to_contain_text(user.email)
    else:
        expect(page.get_by_role("alert")).to_contain_text("Your role does not give access")
        expect(page.get_by_role("table", name="Members")).to_have_count(0)
    assert page.console_errors == []


def test_it_refuses_a_wrong_password_with_the_server_message(page_for, admin):
    page = page_for()
    page.goto("/journeys")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fjourneys$"))
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("Wrong email or password"))

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/journeys$"))
    assert page.console_errors == []


def test_an_invited_member_joins_with_the_chosen_role(browser, page_for, live_app, admin):
    page = page_for(admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email address").fill("Newcomer@Acme.test")
    page.get_by_label("Role", exact=True).select_option("qa")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("notice")).to_have_text("Invitation sent to newcomer@acme.test.")
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text("newcomer@acme.test")

    link = link_in_last_email("newcomer@acme.test", "invite")
    assert link.startswith(live_app.url)

    invitee = page_for()  # a fresh browser context: no cookies of the admin
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Acme Shop")).to_be_visible()
    expect(invitee.get_by_test_id("invited-role")).to_have_text("QA")
    expect(invitee.get_by_label("Email")).to_have_value("newcomer@acme.test")
    invitee.get_by_label("Your name").fill("Nina Newcomer")
    invitee.get_by_label("Choose a password").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Join workspace").click()

    expect(invitee).to_have_url(re.compile(r"/journeys$"))
    expect(invitee.get_by_test_id("workspace-name")).to_have_text("Acme Shop")
    expect(invitee.get_by_test_id("current-role")).to_have_text("QA")
    membership = Membership.objects.get(user__email="newcomer@acme.test")
    assert (membership.workspace.name, membership.role, membership.is_active) == ("Acme Shop", Role.QA, True)

    # The link works once.
    used = page_for()
    used.goto(link)
    expect(used.get_by_role("alert")).to_contain_text("already been used")
    expect(used.get_by_role("alert")).to_contain_text("invitation_used")

    # The admin's list shows the new member and no longer the invitation.
    page.reload()
    expect(page.get_by_role("table", name="Members")).to_contain_text("newcomer@acme.test")
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    for p in (page, invitee, used):
        assert p.console_errors == []


def test_a_revoked_invitation_link_explains_itself(page_for, admin):
    page = page_for(admin)
    page.goto("/settings/members")
    page.get_by_label("Email address").fill("late@acme.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text("late@acme.test")
    link = link_in_last_email("late@acme.test", "invite")

    page.get_by_role("button", name="Revoke invitation of late@acme.test").click()
    expect(page.get_by_test_id("notice")).to_contain_text("has been revoked")
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    assert Invitation.objects.get(email="late@acme.test").status == Invitation.Status.REVOKED

    invitee = page_for()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="This invitation cannot be used")).to_be_visible()
    expect(invitee.get_by_role("alert")).to_contain_text("This invitation has been revoked.")
    expect(invitee.get_by_role("alert")).to_contain_text("invitation_revoked")
    assert page.console_errors == [] and invitee.console_errors == []


def test_a_duplicate_invitation_is_refused_next_to_the_email_field(page_for, admin, marketer):
    page = page_for(admin)
    page.goto("/settings/members")
    page.get_by_label("Email address").fill(marketer.email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".field-error")).to_have_text("Already a member.")
    expect(page.get_by_role("alert")).to_contain_text("already a member of this workspace")
    assert not Invitation.objects.exists()
    assert page.console_errors == []


def test_an_admin_changes_a_role(page_for, admin, marketer):
    page = page_for(admin)
    page.goto("/settings/members")
    page.get_by_label(f"Role of {marketer.email}").select_option("qa")
    assert Membership.objects.get(user=marketer).role == Role.MARKETER  # nothing changes before Save
    page.get_by_role("button", name=f"Save role of {marketer.email}").click()
    expect(page.get_by_test_id("notice")).to_have_text(f"{marketer.email} is now QA.")
    assert Membership.objects.get(user=marketer).role == Role.QA

    # The last admin cannot demote themselves; the server says why and nothing changes.
    page.get_by_label(f"Role of {admin.email}").select_option("marketer")
    page.get_by_role("button", name=f"Save role of {admin.email}").click()
    expect(page.get_by_role("alert")).to_contain_text("A workspace needs at least one admin.")
    assert Membership.objects.get(user=admin).role == Role.ADMIN

    page.goto("/settings/audit")
    page.get_by_label("Action").select_option("member.role_changed")
    table = page.get_by_role("table", name="Audit log")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(admin.email)
    expect(table).to_contain_text(marketer.email)
    assert page.console_errors == []


def test_a_deactivated_member_can_no_longer_log_in_or_use_a_token(page_for, live_app, admin, marketer):
    member_page = page_for(marketer)
    member_page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(member_page).to_have_url(re.compile(r"/settings/tokens$"))
    member_page.get_by_label("Name").fill("Reporting script")
    member_page.get_by_role("button", name="Create token").click()
    token = member_page.get_by_label("New token “Reporting script”").input_value()
    assert token
    expect(member_page.get_by_text("This is the only time Wayline shows it")).to_be_visible()
    assert api_status(live_app, "/api/tokens", token) == 200

    admin_page = page_for(admin)
    admin_page.goto("/settings/members")
    admin_page.get_by_role("button", name=f"Deactivate {marketer.email}").click()
    admin_page.get_by_role("button", name="Confirm deactivation").click()
    row = admin_page.locator(f'tr[data-member="{marketer.email}"]')
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()

    # The token is refused, the open session ends, and a new login is refused.
    assert api_status(live_app, "/api/tokens", token) == 401
    member_page.reload()
    expect(member_page).to_have_url(re.compile(r"/login"))
    member_page.get_by_label("Email").fill(marketer.email)
    member_page.get_by_label("Password").fill(PASSWORD)
    member_page.get_by_role("button", name="Log in").click()
    expect(member_page.get_by_role("alert")).to_contain_text("not an active member")
    expect(member_page).to_have_url(re.compile(r"/login"))

    # Reactivated, the member can log in again.
    row.get_by_role("button", name="Reactivate").click()
    expect(row).to_contain_text("Active")
    member_page.get_by_role("button", name="Log in").click()
    expect(member_page).to_have_url(re.compile(r"/settings/tokens$|/journeys$"))
    assert admin_page.console_errors == [] and member_page.console_errors == []


def test_write_keys_are_shown_once_and_can_be_revoked(page_for, admin, workspace):
    page = page_for(admin)
    page.goto("/settings/api-keys")
    page.get_by_label("Name").fill("Shop backend")
    page.get_by_role("button", name="Create write key").click()
    raw = page.get_by_label("New write key “Shop backend”").input_value()
    assert actions.workspace_for_write_key(raw) == workspace
    assert WriteKey.objects.get(name="Shop backend").key_hash != raw  # stored hashed
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_label("New write key “Shop backend”")).to_have_count(0)

    row = page.locator('tr[data-secret="Shop backend"]')
    expect(row).to_contain_text(f"{raw[:10]}…")
    row.get_by_role("button", name="Revoke Shop backend").click()
    row.get_by_role("button", name="Confirm revoke").click()
    expect(row).to_contain_text("Revoked")
    assert actions.workspace_for_write_key(raw) is None
    assert page.console_errors == []


def test_password_reset_by_email(page_for, marketer):
    page = page_for()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(marketer.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("Check your email")).to_be_visible()

    link = link_in_last_email(marketer.email, "reset")
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/login\?reset=done$"))
    expect(page.get_by_text("Your password has been changed")).to_be_visible()

    page.get_by_label("Email").fill(marketer.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/journeys$"))

    # The link works once.
    other = page_for()
    other.goto(link)
    other.get_by_label("New password", exact=True).fill("yet-another-passphrase-7")
    other.get_by_label("Repeat the new password").fill("yet-another-passphrase-7")
    other.get_by_role("button", name="Set new password").click()
    expect(other.get_by_role("alert")).to_contain_text("invalid or has already been used")
    assert page.console_errors == [] and other.console_errors == []


def test_a_member_of_several_workspaces_switches_between_them(page_for, marketer):
    second = make_workspace("Beta Store")
    Membership.objects.create(workspace=second, user=marketer, role=Role.ADMIN)
    page = page_for(marketer)
    switcher = page.get_by_label("Workspace")
    expect(switcher).to_have_value(str(Membership.objects.get(user=marketer, role=Role.MARKETER).workspace_id))
    expect(page.get_by_test_id("current-role")).to_have_text("Marketer")

    switcher.select_option(label="Beta Store (Admin)")
    expect(page.get_by_test_id("current-role")).to_have_text("Admin")
    page.goto("/settings")
    expect(settings_links(page)).to_have_text(
        ["Members", "API keys", "Sending", "Audit log", "Personal tokens", "Predictions"]
    )
    expect(page.get_by_role("table", name="Members")).to_contain_text(marketer.email)
    expect(page.get_by_role("table", name="Members")).not_to_contain_text("admin@acme.test")
    assert page.console_errors == []


def test_the_app_is_installable(page_for, live_app):
    page = page_for()
    page.goto("/login")
    manifest_url = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.request.get(manifest_url).json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).ok, icon["src"]
    assert page.console_errors == []


def test_logging_out_ends_the_session(page_for, qa):
    page = page_for(qa)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/settings/tokens")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings%2Ftokens$"))
    assert page.console_errors == []


JOURNEY_LIST = re.compile(r"/api/journeys(\?|$)")

# Installed in the page: right after the "Log out" click, a synchronous request to a path the test
# answers keeps the page's main thread busy, as on a loaded machine, until the server's answers the
# test releases meanwhile are all waiting to be handled, one after the other.
BUSY_AFTER_LOG_OUT = """
document.addEventListener("click", (event) => {
  if (event.target.closest("button")?.textContent !== "Log out") return;
  setTimeout(() => {
    const busy = new XMLHttpRequest();
    busy.open("GET", "/__busy__", false);
    busy.send();
  });
}, true);
"""


def test_an_answer_in_flight_while_logging_out_does_not_break_the_page(page_for, qa):
    """The journeys list asked for its rows before "Log out"; the server answers it after the
    session ended (401), next to the log-out's answer. The page it was for is going away: the
    login is shown, and nothing fails in the browser (it was React error #520, a page that
    re-rendered with the logged-out session while the shell still showed it)."""
    page = page_for()
    held = {}
    page.route(JOURNEY_LIST, lambda route: held.setdefault("journeys", route))

    def busy(route):
        if "answered" in held:
            route.fulfill(body="")
        else:
            held["busy"] = route

    def log_out(route):
        try:
            logged_out = route.fetch()
            journeys = held["journeys"].fetch()
            held["journeys_status"] = journeys.status
            held["journeys"].fulfill(response=journeys)
            route.fulfill(response=logged_out)
        finally:
            held["answered"] = True
            if "busy" in held:
                held["busy"].fulfill(body="")

    page.route("**/__busy__", busy)
    page.route("**/api/auth/logout", log_out)
    page.goto("/login")
    page.get_by_label("Email").fill(qa.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_request(JOURNEY_LIST):
        page.get_by_role("button", name="Log in").click()
    page.evaluate(BUSY_AFTER_LOG_OUT)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert held["journeys_status"] in (401, 403)
    assert page.console_errors == []


def test_an_invited_user_with_an_account_joins_with_their_password(page_for, admin, outsider):
    page = page_for(admin)
    page.goto("/settings/members")
    page.get_by_label("Email address").fill(outsider.email)
    page.get_by_label("Role", exact=True).select_option("marketer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("notice")).to_contain_text(outsider.email)
    link = link_in_last_email(outsider.email, "invite")

    invitee = page_for()
    invitee.goto(link)
    expect(invitee.get_by_text("You already have a Wayline account")).to_be_visible()
    expect(invitee.get_by_label("Your name")).to_have_count(0)
    invitee.get_by_label("Password").fill("wrong-password-1")
    invitee.get_by_role("button", name="Join workspace").click()
    expect(invitee.locator(".field-error")).to_have_text("Wrong password for the existing account.")

    invitee.get_by_label("Password").fill(PASSWORD)
    invitee.get_by_role("button", name="Join workspace").click()
    expect(invitee.get_by_test_id("current-role")).to_have_text("Marketer")
    switcher = invitee.get_by_label("Workspace")
    expect(switcher.locator("option")).to_have_text(["Other Corp (Admin)", "Acme Shop (Marketer)"])
    expect(switcher).to_have_value(str(Membership.objects.get(user=outsider, role=Role.MARKETER).workspace_id))
    assert page.console_errors == [] and invitee.console_errors == []
