/**
 * Feature pages inside the logged-in shell. Each feature registers its pages here with ONE line;
 * the page itself lives in the feature's folder (src/journeys/, src/templates/, ...).
 *
 *   { path: "journeys/*", component: lazy(() => import("./journeys/JourneysPage")) },
 *
 * `path` is relative to "/" and may end in "/*" so the feature can declare its own sub-routes.
 * `layout: "full"` gives the page the whole content area without padding (the canvas).
 * Navigation items are in lib/navigation.ts; settings sections in settings/SettingsRoutes.tsx.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

export interface FeatureRoute {
  path: string;
  component: ComponentType | LazyExoticComponent<ComponentType>;
  layout?: "page" | "full";
}

export const featureRoutes: FeatureRoute[] = [
  { path: "journeys/*", component: lazy(() => import("./journeys/JourneysPage")), layout: "full" },
  { path: "templates/*", component: lazy(() => import("./templates/TemplatesPage")), layout: "full" },
  { path: "contacts/*", component: lazy(() => import("./contacts/ContactsPage")) },
  { path: "segments/*", component: lazy(() => import("./segments/SegmentsPage")) },
  { path: "broadcasts/*", component: lazy(() => import("./broadcasts/BroadcastsPage")) },
  { path: "catalog/*", component: lazy(() => import("./catalog/CatalogPage")) },
  { path: "data-sources", component: lazy(() => import("./datasources/DataSourcesPage")) },
  { path: "qa/*", component: lazy(() => import("./qa/QAPage")) },
  { path: "outbox/*", component: lazy(() => import("./outbox/OutboxPage")) },
];
