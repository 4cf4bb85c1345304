from accounts.actions import workspace_for_write_key
from accounts.models import ApiToken, AuditEntry, WriteKey, hash_secret


def test_a_write_key_is_shown_once_and_stored_hashed(admin, api, workspace):
    created = api(admin).post("/api/write-keys", {"name": "Shop"}, format="json").json()
    raw = created["key"]
    key = WriteKey.objects.get()
    assert key.key_hash == hash_secret(raw) and raw not in key.key_hash
    listed = api(admin).get("/api/write-keys").json()["results"]
    assert "key" not in listed[0] and listed[0]["hint"] == raw[:10]
    assert workspace_for_write_key(raw) == workspace


def test_a_revoked_write_key_stops_working_and_cannot_be_revoked_twice(admin, api):
    created = api(admin).post("/api/write-keys", {"name": "Shop"}, format="json").json()
    assert api(admin).post(f"/api/write-keys/{created['id']}/revoke").status_code == 200
    assert workspace_for_write_key(created["key"]) is None
    again = api(admin).post(f"/api/write-keys/{created['id']}/revoke")
    assert again.status_code == 400 and again.json()["code"] == "already_revoked"
    assert AuditEntry.objects.filter(action="write_key.revoked").count() == 1


def test_a_revoked_token_is_refused(marketer, api, client):
    created = api(marketer).post("/api/tokens", {"name": "cli"}, format="json").json()
    assert ApiToken.objects.get().token_hash == hash_secret(created["token"])
    api(marketer).post(f"/api/tokens/{created['id']}/revoke")
    response = client.get("/api/tokens", HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


def test_a_member_sees_only_their_own_tokens(marketer, qa, api):
    api(marketer).post("/api/tokens", {"name": "mine"}, format="json")
    other = api(qa).post("/api/tokens", {"name": "theirs"}, format="json").json()
    assert [t["name"] for t in api(qa).get("/api/tokens").json()["results"]] == ["theirs"]
    assert api(marketer).post(f"/api/tokens/{other['id']}/revoke").status_code == 404


def test_a_token_acts_with_its_members_role(qa, api, client):
    token = api(qa).post("/api/tokens", {"name": "cli"}, format="json").json()["token"]
    assert client.get("/api/members", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
