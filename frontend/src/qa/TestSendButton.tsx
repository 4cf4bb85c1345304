/** Send one variant as a test to my own address or a seed-list address. */
import { useState } from "react";
import { errorMessage } from "../lib/api";
import { useMember } from "../lib/session";
import { useQASettings, useTestSend, type TestSendBody } from "./api";

export function TestSendButton({ body, title }: { body: Omit<TestSendBody, "to">; title?: string }) {
  const member = useMember();
  const settings = useQASettings();
  const send = useTestSend();
  const [to, setTo] = useState("me");
  const seeds = settings.data?.seed_list ?? [];
  return (
    <span className="qa-test-send">
      <select aria-label="Send the test to" value={to} onChange={(event) => setTo(event.target.value)}>
        <option value="me">me ({member.user.email})</option>
        {seeds.map((address) => (
          <option key={address} value={address}>
            {address}
          </option>
        ))}
        {seeds.length > 1 ? <option value="*seeds">the whole seed list</option> : null}
      </select>
      <button type="button" className="button button-small" title={title} disabled={send.isPending} onClick={() => send.mutate({ ...body, to: to === "*seeds" ? seeds : [to] })}>
        Send test
      </button>
      {send.isSuccess ? (
        <span className="qa-sent" role="status">
          Sent to {send.data.sent.map((item) => item.to).join(", ")}
        </span>
      ) : null}
      {send.isError ? (
        <span className="field-error" role="alert">
          {errorMessage(send.error)}
        </span>
      ) : null}
    </span>
  );
}
