import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { useMutation } from "@tanstack/react-query";
import { api } from "../lib/api";
import { Banner, ErrorBanner, fieldError, TextField } from "../lib/ui";
import { AuthLayout } from "./AuthLayout";

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const reset = useMutation({
    mutationFn: () => api.post<{ detail: string }>("auth/password-reset", { email }),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    reset.mutate();
  }

  return (
    <AuthLayout title="Reset your password" subtitle="Enter the email address of your account and we will send you a link to choose a new password.">
      {reset.isSuccess ? (
        <Banner tone="success" title="Check your email">
          {reset.data.detail}
        </Banner>
      ) : (
        <>
          <ErrorBanner error={reset.error} shownFields={["email"]} />
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
              error={fieldError(reset.error, "email")}
            />
            <button type="submit" className="button button-primary button-block" disabled={reset.isPending}>
              {reset.isPending ? "Sending…" : "Send reset link"}
            </button>
          </form>
        </>
      )}
      <p className="auth-footer">
        <Link to="/login">Back to log in</Link>
      </p>
    </AuthLayout>
  );
}
