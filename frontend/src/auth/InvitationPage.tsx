import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import { homePath } from "../lib/navigation";
import { roleLabel, SESSION_KEY, type MemberSession } from "../lib/session";
import { Banner, ErrorBanner, fieldError, Loading, TextField } from "../lib/ui";
import { AuthLayout } from "./AuthLayout";

interface PublicInvitation {
  email: string;
  workspace: string;
  role: string;
  existing_account: boolean;
}

const LINK_PROBLEMS: Record<string, string> = {
  invalid_invitation: "Check that you opened the whole link from the email.",
  invitation_used: "Log in with the account that accepted it.",
  invitation_revoked: "An admin withdrew it. Ask them for a new invitation if you still need access.",
  invitation_expired: "Invitation links work for a limited time. Ask the admin who invited you for a new one.",
};

export function InvitationPage() {
  const { token = "" } = useParams();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const invitation = useQuery({
    queryKey: ["public-invitation", token],
    queryFn: ({ signal }) => api.get<PublicInvitation>(`public/invitations/${encodeURIComponent(token)}`, undefined, signal),
    retry: false,
  });
  const accept = useMutation({
    mutationFn: () => api.post<MemberSession>(`public/invitations/${encodeURIComponent(token)}/accept`, { name, password }),
    onSuccess: (member) => {
      client.clear();
      client.setQueryData(SESSION_KEY, member);
      navigate(homePath(member), { replace: true });
    },
  });

  if (invitation.isPending) return <Loading label="Opening your invitation…" />;
  if (invitation.isError) {
    const error = invitation.error;
    const code = error instanceof ApiError ? error.code : "error";
    return (
      <AuthLayout title="This invitation cannot be used">
        <Banner tone="error" title={error instanceof ApiError ? error.error : "The invitation could not be loaded."}>
          {LINK_PROBLEMS[code] ?? "Try again later."} <span className="error-code">({code})</span>
        </Banner>
        <p className="auth-footer">
          <Link to="/login">Go to log in</Link>
        </p>
      </AuthLayout>
    );
  }

  const data = invitation.data;
  function submit(event: FormEvent) {
    event.preventDefault();
    accept.mutate();
  }
  return (
    <AuthLayout
      title={`Join ${data.workspace}`}
      subtitle={
        <>
          You are invited to <strong>{data.workspace}</strong> as <strong data-testid="invited-role">{roleLabel(data.role)}</strong>.
        </>
      }
    >
      <ErrorBanner error={accept.error} shownFields={["password", "name"]} />
      <form onSubmit={submit} className="form" noValidate>
        <TextField label="Email" type="email" name="email" value={data.email} readOnly autoComplete="username" />
        {data.existing_account ? (
          <p className="muted">You already have a Wayline account with this address: enter its password to join.</p>
        ) : (
          <TextField
            label="Your name"
            name="name"
            autoComplete="name"
            autoFocus
            value={name}
            onChange={(event) => setName(event.target.value)}
            error={fieldError(accept.error, "name")}
          />
        )}
        <TextField
          label={data.existing_account ? "Password" : "Choose a password"}
          type="password"
          name="password"
          autoComplete={data.existing_account ? "current-password" : "new-password"}
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={fieldError(accept.error, "password")}
          hint={data.existing_account ? undefined : "At least 8 characters; not only digits, not a common password."}
        />
        <button type="submit" className="button button-primary button-block" disabled={accept.isPending}>
          {accept.isPending ? "Joining…" : "Join workspace"}
        </button>
      </form>
    </AuthLayout>
  );
}
