/** The list of published versions; each opens read-only on its own page. */
import { useEffect, useRef } from "react";
import { Link } from "react-router-dom";
import { errorMessage } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { Banner, Loading, Tag } from "../lib/ui";
import { useVersions } from "./api";
import type { Journey, UserRef } from "./types";

export function who(user: UserRef | string | null | undefined): string {
  if (!user) return "";
  if (typeof user === "string") return user;
  return user.name || user.email;
}

export function VersionsDrawer({ journey, onClose }: { journey: Journey; onClose: () => void }) {
  const versions = useVersions(journey.id);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const liveNumber = typeof journey.live_version === "number" ? journey.live_version : null;
  return (
    <dialog ref={dialog} className="dialog drawer" aria-labelledby="versions-title" onClose={onClose} onCancel={onClose}>
      <header className="dialog-head">
        <h2 id="versions-title">Versions</h2>
        <p className="muted">Every publish makes an immutable version. Contacts finish the version they entered unless moved when publishing.</p>
      </header>
      {versions.isPending ? <Loading /> : null}
      {versions.isError ? <Banner tone="error">{errorMessage(versions.error)}</Banner> : null}
      {versions.data && versions.data.length === 0 ? <p className="muted">Not published yet.</p> : null}
      <ol className="version-list">
        {[...(versions.data ?? [])]
          .sort((a, b) => b.number - a.number)
          .map((version) => (
            <li key={version.number}>
              <div>
                <strong>Version {version.number}</strong> {version.number === liveNumber || version.live ? <Tag tone="good">live</Tag> : null}
                <span className="cell-sub">
                  {formatDateTime(version.published_at)}
                  {who(version.published_by) ? ` · ${who(version.published_by)}` : ""}
                </span>
              </div>
              <Link className="button button-small" to={`/journeys/${journey.id}/versions/${version.number}`}>
                View
              </Link>
            </li>
          ))}
      </ol>
      <footer className="dialog-foot">
        <button type="button" className="button" onClick={onClose} autoFocus>
          Close
        </button>
      </footer>
    </dialog>
  );
}
