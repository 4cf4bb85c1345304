/** The catalog's shapes (journeys/customers/api.py), generated from /api/schema/ (lib/schema.d.ts:
 * `make types`). `Required<>`: a model serializer writes every field in its answers. */
import type { components } from "../lib/schema";

type Schemas = components["schemas"];

/** A product of the list; the detail (GET /api/products/{id}) adds its price history. */
export type Product = Required<Schemas["Product"]> & { price_history?: Required<Schemas["PriceChange"]>[] };
