import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import { formatDate } from "../lib/format";
import { ROLES, roleLabel, useMember, type Role } from "../lib/session";
import { Banner, ErrorBanner, fieldError, Loading, PageHeader, SelectField, Tag, TextField } from "../lib/ui";
import type { Invitation, Member } from "./types";

const ROLE_OPTIONS = ROLES.map((role) => ({ value: role.value, label: role.label }));
const MEMBERS_KEY = ["members"] as const;
const INVITATIONS_KEY = ["invitations", "pending"] as const;

export function MembersPage() {
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="page">
      <PageHeader title="Members" description="Who can work in this workspace and with which role. Roles are enforced by the server on every request." />
      {notice ? (
        <Banner tone="success">
          <span data-testid="notice">{notice}</span>
        </Banner>
      ) : null}
      <InviteForm onInvited={(email) => setNotice(`Invitation sent to ${email}.`)} />
      <MemberList onChanged={setNotice} />
      <PendingInvitations onChanged={setNotice} />
    </div>
  );
}

function InviteForm({ onInvited }: { onInvited: (email: string) => void }) {
  const client = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("marketer");
  const invite = useMutation({
    mutationFn: () => api.post<Invitation>("invitations", { email, role }),
    onSuccess: (invitation) => {
      setEmail("");
      onInvited(invitation.email);
      void client.invalidateQueries({ queryKey: ["invitations"] });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    invite.mutate();
  }
  return (
    <section className="card" aria-labelledby="invite-heading">
      <div className="card-header">
        <h2 id="invite-heading">Invite a member</h2>
        <span className="muted">They get an email with a link to set a password and join.</span>
      </div>
      <ErrorBanner error={invite.error} shownFields={["email", "role"]} />
      <form className="form-inline" onSubmit={submit} noValidate>
        <TextField
          label="Email address"
          type="email"
          name="email"
          required
          placeholder="name@company.com"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={fieldError(invite.error, "email")}
        />
        <SelectField
          label="Role"
          name="role"
          value={role}
          options={ROLE_OPTIONS}
          onChange={(event) => setRole(event.target.value as Role)}
          error={fieldError(invite.error, "role")}
        />
        <div className="form-submit">
          <button type="submit" className="button button-primary" disabled={invite.isPending}>
            {invite.isPending ? "Sending…" : "Send invitation"}
          </button>
        </div>
      </form>
      <p className="field-hint">{ROLES.find((item) => item.value === role)?.help}.</p>
    </section>
  );
}

function MemberList({ onChanged }: { onChanged: (message: string) => void }) {
  const me = useMember();
  const client = useQueryClient();
  const members = useQuery({
    queryKey: MEMBERS_KEY,
    queryFn: ({ signal }) => api.get<Page<Member>>("members", { limit: 500 }, signal),
  });
  const [confirming, setConfirming] = useState<number | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: MEMBERS_KEY });
  const changeRole = useMutation({
    mutationFn: ({ member, role }: { member: Member; role: Role }) => api.patch<Member>(`members/${member.id}`, { role }),
    onSuccess: (member) => {
      onChanged(`${member.email} is now ${roleLabel(member.role)}.`);
      void refresh();
    },
    onError: () => void refresh(),
  });
  const setActive = useMutation({
    mutationFn: ({ member, active }: { member: Member; active: boolean }) =>
      api.post<Member>(`members/${member.id}/${active ? "reactivate" : "deactivate"}`),
    onSuccess: (member) => {
      setConfirming(null);
      onChanged(member.is_active ? `${member.email} is active again.` : `${member.email} has been deactivated and can no longer log in.`);
      void refresh();
    },
  });

  return (
    <section className="card card-flush" aria-labelledby="members-heading">
      <div className="card-header">
        <h2 id="members-heading">Members</h2>
        {members.data ? <span className="muted">{members.data.count} in this workspace</span> : null}
      </div>
      <div style={{ padding: "0 1.25rem" }}>
        <ErrorBanner error={members.error ?? changeRole.error ?? setActive.error} />
      </div>
      {members.isPending ? (
        <Loading />
      ) : members.data ? (
        <table className="table" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Joined</th>
              <th scope="col" className="actions">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data.results.map((member) => {
              const isMe = member.email === me.user.email;
              return (
                <tr key={member.id} className={member.is_active ? undefined : "row-inactive"} data-member={member.email}>
                  <td>
                    {member.name || member.email}
                    {isMe ? (
                      <span className="inline-tag">
                        <Tag tone="accent">you</Tag>
                      </span>
                    ) : null}
                    {member.name ? <span className="cell-sub">{member.email}</span> : null}
                  </td>
                  <td>
                    <RolePicker
                      member={member}
                      saving={changeRole.isPending && changeRole.variables?.member.id === member.id}
                      onSave={(role) => changeRole.mutate({ member, role })}
                    />
                  </td>
                  <td>
                    {member.is_active ? (
                      <Tag tone="good">Active</Tag>
                    ) : (
                      <>
                        <Tag tone="bad">Deactivated</Tag>
                        <span className="cell-sub">{formatDate(member.deactivated_at)}</span>
                      </>
                    )}
                  </td>
                  <td>{formatDate(member.joined_at)}</td>
                  <td className="actions">
                    {!member.is_active ? (
                      <button type="button" className="button button-small" disabled={setActive.isPending} onClick={() => setActive.mutate({ member, active: true })}>
                        Reactivate
                      </button>
                    ) : confirming === member.id ? (
                      <span className="confirm-inline">
                        <span>Deactivate {member.email}?</span>
                        <button
                          type="button"
                          className="button button-small button-danger-solid"
                          disabled={setActive.isPending}
                          onClick={() => setActive.mutate({ member, active: false })}
                        >
                          Confirm deactivation
                        </button>
                        <button type="button" className="button button-small button-quiet" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </span>
                    ) : (
                      <button
                        type="button"
                        className="button button-small button-danger"
                        aria-label={`Deactivate ${member.email}`}
                        onClick={() => setConfirming(member.id)}
                      >
                        Deactivate
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** A role select with an explicit Save: arrowing through a select must not change anyone's role. */
function RolePicker({ member, saving, onSave }: { member: Member; saving: boolean; onSave: (role: Role) => void }) {
  const [role, setRole] = useState<Role>(member.role);
  const [shown, setShown] = useState<Role>(member.role);
  if (shown !== member.role) {
    // The server's answer changed the role (or refused it): follow it.
    setShown(member.role);
    setRole(member.role);
  }
  const changed = role !== member.role;
  return (
    <span className="role-picker">
      <select aria-label={`Role of ${member.email}`} value={role} disabled={saving || !member.is_active} onChange={(event) => setRole(event.target.value as Role)}>
        {ROLE_OPTIONS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {changed ? (
        <>
          <button type="button" className="button button-small button-primary" disabled={saving} onClick={() => onSave(role)} aria-label={`Save role of ${member.email}`}>
            {saving ? "Saving…" : "Save"}
          </button>
          <button type="button" className="button button-small button-quiet" disabled={saving} onClick={() => setRole(member.role)}>
            Cancel
          </button>
        </>
      ) : null}
    </span>
  );
}

function PendingInvitations({ onChanged }: { onChanged: (message: string) => void }) {
  const client = useQueryClient();
  const invitations = useQuery({
    queryKey: INVITATIONS_KEY,
    queryFn: ({ signal }) => api.get<Page<Invitation>>("invitations", { status: "pending", limit: 500 }, signal),
  });
  const revoke = useMutation({
    mutationFn: (invitation: Invitation) => api.post<Invitation>(`invitations/${invitation.id}/revoke`),
    onSuccess: (invitation) => {
      onChanged(`The invitation of ${invitation.email} has been revoked; its link no longer works.`);
      void client.invalidateQueries({ queryKey: ["invitations"] });
    },
  });
  return (
    <section className="card card-flush" aria-labelledby="invitations-heading">
      <div className="card-header">
        <h2 id="invitations-heading">Pending invitations</h2>
      </div>
      <div style={{ padding: "0 1.25rem" }}>
        <ErrorBanner error={invitations.error ?? revoke.error} />
      </div>
      {invitations.isPending ? (
        <Loading />
      ) : invitations.data && invitations.data.results.length === 0 ? (
        <p className="table-empty">No pending invitations.</p>
      ) : invitations.data ? (
        <table className="table" aria-label="Pending invitations">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Invited by</th>
              <th scope="col">Expires</th>
              <th scope="col" className="actions">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {invitations.data.results.map((invitation) => (
              <tr key={invitation.id} data-invitation={invitation.email}>
                <td>{invitation.email}</td>
                <td>{roleLabel(invitation.role)}</td>
                <td>{invitation.invited_by ?? "—"}</td>
                <td>{invitation.is_expired ? <Tag tone="warn">Expired</Tag> : formatDate(invitation.expires_at)}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="button button-small button-danger"
                    aria-label={`Revoke invitation of ${invitation.email}`}
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(invitation)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
