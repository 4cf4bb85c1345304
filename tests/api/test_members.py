from accounts.models import AuditEntry, Membership


def test_an_admin_changes_a_role_and_it_is_audited(admin, marketer, api):
    membership = Membership.objects.get(user=marketer)
    response = api(admin).patch(f"/api/members/{membership.id}", {"role": "qa"}, format="json")
    assert response.status_code == 200
    assert Membership.objects.get(pk=membership.pk).role == "qa"
    entry = AuditEntry.objects.get(action="member.role_changed")
    assert (entry.actor_email, entry.target, entry.details) == (
        admin.email,
        marketer.email,
        {"old": "marketer", "new": "qa"},
    )


def test_an_unknown_role_is_refused_and_nothing_changes(admin, marketer, api):
    membership = Membership.objects.get(user=marketer)
    response = api(admin).patch(f"/api/members/{membership.id}", {"role": "superuser"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_role"
    assert Membership.objects.get(pk=membership.pk).role == "marketer"


def test_the_last_admin_cannot_be_demoted_or_deactivated(admin, api):
    membership = Membership.objects.get(user=admin)
    assert (
        api(admin).patch(f"/api/members/{membership.id}", {"role": "qa"}, format="json").json()["code"] == "last_admin"
    )
    assert api(admin).post(f"/api/members/{membership.id}/deactivate").json()["code"] == "last_admin"
    assert Membership.objects.get(pk=membership.pk).role == "admin"


def test_a_deactivated_member_can_no_longer_log_in_or_use_a_token(admin, marketer, api, client):
    token = api(marketer).post("/api/tokens", {"name": "cli"}, format="json").json()["token"]
    assert client.get("/api/tokens", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    logged_in = api(marketer)

    membership = Membership.objects.get(user=marketer)
    assert api(admin).post(f"/api/members/{membership.id}/deactivate").status_code == 200

    assert client.get("/api/tokens", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert logged_in.get("/api/tokens").status_code == 403
    login = client.post(
        "/api/auth/login",
        {"email": marketer.email, "password": "correct-horse-battery-9"},
        content_type="application/json",
    )
    assert login.status_code == 400
    assert login.json()["code"] == "no_active_membership"


def test_a_member_of_several_workspaces_switches_between_them(admin, api, other_workspace):
    Membership.objects.create(workspace=other_workspace, user=admin, role="qa")
    client = api(admin)
    session = client.get("/api/auth/session").json()
    assert {w["name"] for w in session["workspaces"]} == {"Acme Shop", "Other Corp"}
    switched = client.post("/api/auth/switch-workspace", {"workspace": other_workspace.id}, format="json").json()
    assert switched["workspace"]["name"] == "Other Corp" and switched["role"] == "qa"
    assert client.get("/api/members").status_code == 403  # QA there
