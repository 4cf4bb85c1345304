import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { homePath } from "../lib/navigation";
import { isMember, SESSION_KEY, useSession, type MemberSession } from "../lib/session";
import { Banner, ErrorBanner, fieldError, Loading, TextField } from "../lib/ui";
import { AuthLayout, safeNext } from "./AuthLayout";

export function LoginPage() {
  const session = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => api.post<MemberSession>("auth/login", { email, password }),
    onSuccess: (member) => {
      client.clear();
      client.setQueryData(SESSION_KEY, member);
      navigate(next ?? homePath(member), { replace: true });
    },
  });

  if (session.isPending) return <Loading />;
  if (isMember(session.data) && !login.isPending && !login.isSuccess) {
    return <Navigate to={next ?? homePath(session.data)} replace />;
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    login.mutate();
  }

  return (
    <AuthLayout title="Log in" subtitle="Welcome back. Log in to your workspace.">
      {params.get("reset") === "done" ? <Banner tone="success">Your password has been changed. Log in with the new one.</Banner> : null}
      <ErrorBanner error={login.error} shownFields={["email", "password"]} />
      <form onSubmit={submit} className="form" noValidate>
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={fieldError(login.error, "email")}
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={fieldError(login.error, "password")}
        />
        <button type="submit" className="button button-primary button-block" disabled={login.isPending}>
          {login.isPending ? "Logging in…" : "Log in"}
        </button>
      </form>
      <p className="auth-footer">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </AuthLayout>
  );
}
