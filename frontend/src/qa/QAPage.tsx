/** The QA workspace: journeys to review (gallery, path simulation, test sends, approval),
 * personas, template previews and (admins) the QA settings. */
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { useCan } from "../lib/session";
import { JourneysToReview } from "./JourneysToReview";
import { PersonasPage } from "./PersonasPage";
import { ReviewPage } from "./ReviewPage";
import { QASettingsPage } from "./QASettingsPage";
import { NodePreviewPage, TemplatePreviewPage, TemplatesToPreview } from "./TemplatePreviewPage";
import "./qa.css";

export default function QAPage() {
  const isAdmin = useCan("manage");
  return (
    <div className="page-container qa">
      <nav className="qa-tabs" aria-label="QA">
        <NavLink to="/qa/journeys" className="qa-tab">
          Journeys
        </NavLink>
        <NavLink to="/qa/templates" className="qa-tab">
          Templates
        </NavLink>
        <NavLink to="/qa/personas" className="qa-tab">
          Personas
        </NavLink>
        {isAdmin ? (
          <NavLink to="/qa/settings" className="qa-tab">
            Settings
          </NavLink>
        ) : null}
      </nav>
      <Routes>
        <Route index element={<Navigate to="journeys" replace />} />
        <Route path="journeys" element={<JourneysToReview />} />
        <Route path="journeys/:id" element={<ReviewPage />} />
        <Route path="journeys/:id/nodes/:node" element={<NodePreviewPage />} />
        <Route path="templates" element={<TemplatesToPreview />} />
        <Route path="templates/:id" element={<TemplatePreviewPage />} />
        <Route path="personas" element={<PersonasPage />} />
        <Route path="settings" element={<QASettingsPage />} />
        <Route path="*" element={<Navigate to="journeys" replace />} />
      </Routes>
    </div>
  );
}
