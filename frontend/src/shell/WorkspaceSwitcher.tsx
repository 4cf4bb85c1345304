import { useId } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router-dom";
import { api, errorMessage } from "../lib/api";
import { homePath } from "../lib/navigation";
import { forgetSessionData, roleLabel, SESSION_KEY, type MemberSession } from "../lib/session";

/** The workspace name, and a picker when the member belongs to several. */
export function WorkspaceSwitcher({ member }: { member: MemberSession }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const id = useId();
  const switcher = useMutation({
    mutationFn: (workspace: number) => api.post<MemberSession>("auth/switch-workspace", { workspace }),
    onSuccess: async (session) => {
      // Everything cached belongs to the previous workspace. The shell's session query stays, so
      // the shell and its pages see the new member in one render.
      await forgetSessionData(client);
      client.setQueryData(SESSION_KEY, session);
      navigate(homePath(session));
    },
  });
  if (member.workspaces.length <= 1) {
    return (
      <div className="workspace">
        <div className="workspace-label">Workspace</div>
        <div className="workspace-name" data-testid="workspace-name">
          {member.workspace.name}
        </div>
      </div>
    );
  }
  return (
    <div className="workspace">
      <label className="workspace-label" htmlFor={id}>
        Workspace
      </label>
      <select
        id={id}
        className="workspace-select"
        data-testid="workspace-switcher"
        value={member.workspace.id}
        disabled={switcher.isPending}
        onChange={(event) => switcher.mutate(Number(event.target.value))}
      >
        {member.workspaces.map((workspace) => (
          <option key={workspace.id} value={workspace.id}>
            {workspace.name} ({roleLabel(workspace.role)})
          </option>
        ))}
      </select>
      {switcher.isError ? <div className="field-error">{errorMessage(switcher.error)}</div> : null}
    </div>
  );
}
