import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import { ErrorBanner, fieldError, TextField } from "../lib/ui";
import { AuthLayout } from "./AuthLayout";

export function ResetPasswordPage() {
  const { uid = "", token = "" } = useParams();
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({
    mutationFn: () => api.post<{ detail: string }>("auth/password-reset/confirm", { uid, token, password }),
    onSuccess: () => navigate("/login?reset=done", { replace: true }),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    reset.mutate();
  }

  const badLink = reset.error instanceof ApiError && reset.error.code === "invalid_reset_link";
  return (
    <AuthLayout title="Choose a new password">
      <ErrorBanner error={reset.error} shownFields={["password"]} />
      {badLink ? (
        <p className="auth-footer">
          <Link to="/forgot-password">Ask for a new reset link</Link>
        </p>
      ) : null}
      <form onSubmit={submit} className="form" noValidate>
        <TextField
          label="New password"
          type="password"
          name="password"
          autoComplete="new-password"
          required
          autoFocus
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={fieldError(reset.error, "password")}
          hint="At least 8 characters; not only digits, not a common password."
        />
        <TextField
          label="Repeat the new password"
          type="password"
          name="confirm"
          autoComplete="new-password"
          required
          value={confirm}
          onChange={(event) => setConfirm(event.target.value)}
          error={mismatch ? "The two passwords differ." : undefined}
        />
        <button type="submit" className="button button-primary button-block" disabled={reset.isPending}>
          {reset.isPending ? "Saving…" : "Set new password"}
        </button>
      </form>
      <p className="auth-footer">
        <Link to="/login">Back to log in</Link>
      </p>
    </AuthLayout>
  );
}
