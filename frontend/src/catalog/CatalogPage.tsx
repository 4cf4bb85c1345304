/** The product catalog: list, search, create, edit (with price history), delete, CSV import. */
import { useEffect, useState, type FormEvent } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type Page } from "../lib/api";
import { formatDateTime, formatMoney } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Pager, SelectField, Tag, TextField, fieldError } from "../lib/ui";
import { ImportPanel } from "../contacts/ImportPanel";
import "../contacts/customers.css";

import type { Product } from "./types";

export type { Product };

export default function CatalogPage() {
  return (
    <Routes>
      <Route index element={<ProductList />} />
      <Route path="new" element={<ProductEditor />} />
      <Route path=":id" element={<ProductEditor />} />
    </Routes>
  );
}

const LIMIT = 50;

function ProductList() {
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const category = params.get("category") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const [text, setText] = useState(search);
  const [importing, setImporting] = useState(false);
  const canEdit = useCan("edit");
  const navigate = useNavigate();
  useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== search) {
        const next = new URLSearchParams();
        if (text) next.set("search", text);
        if (category) next.set("category", category);
        setParams(next, { replace: true });
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [text, search, category, setParams]);
  const products = useQuery({
    queryKey: ["products", search, category, offset],
    queryFn: ({ signal }) => api.get<Page<Product>>("products", { search, category, offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
  });
  const categories = useQuery({
    queryKey: ["products", "categories"],
    queryFn: ({ signal }) => api.get<{ results: string[] }>("products/categories", undefined, signal),
  });
  function update(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "offset") next.delete("offset");
    setParams(next);
  }
  return (
    <div className="page">
      <PageHeader
        title="Catalog"
        description="Products with prices and stock, used in emails (cart, recommendations, price drops). Price changes are kept as history."
        actions={
          canEdit ? (
            <>
              <button type="button" className="button" onClick={() => setImporting((value) => !value)} aria-expanded={importing}>
                {importing ? "Close import" : "Import products"}
              </button>{" "}
              <Link className="button button-primary" to="/catalog/new">
                New product
              </Link>
            </>
          ) : null
        }
      />
      {importing ? <ImportPanel kind="products" /> : null}
      <div className="toolbar">
        <TextField label="Search" type="search" placeholder="Name, sku or category" value={text} onChange={(event) => setText(event.target.value)} />
        <SelectField
          className="narrow"
          label="Category"
          value={category}
          onChange={(event) => update("category", event.target.value)}
          options={[{ value: "", label: "All categories" }, ...(categories.data?.results ?? []).map((name) => ({ value: name, label: name }))]}
        />
      </div>
      <section className="card card-flush">
        <ErrorBanner error={products.error} />
        {products.isPending ? (
          <Loading />
        ) : products.data && products.data.results.length === 0 ? (
          <p className="table-empty">{search || category ? "No product matches." : "No products yet. Create one, import a CSV, or upsert them through the API."}</p>
        ) : products.data ? (
          <table className="table" aria-label="Products">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Sku</th>
                <th scope="col">Category</th>
                <th scope="col" className="num">Price</th>
                <th scope="col" className="num">Stock</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {products.data.results.map((product) => (
                <tr key={product.id} className="row-link" onClick={() => navigate(`/catalog/${product.id}`)}>
                  <td>
                    <div className="product-cell">
                      {product.image_url ? <img src={product.image_url} alt="" loading="lazy" /> : null}
                      <Link to={`/catalog/${product.id}`} onClick={(event) => event.stopPropagation()}>
                        {product.name}
                      </Link>
                    </div>
                  </td>
                  <td className="mono">{product.sku}</td>
                  <td>{product.category || "—"}</td>
                  <td className="num">{formatMoney(product.price, product.currency)}</td>
                  <td className="num">{product.stock === null ? "—" : product.stock === 0 ? <Tag tone="bad">Out of stock</Tag> : product.stock}</td>
                  <td>{formatDateTime(product.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {products.data ? <Pager offset={offset} limit={LIMIT} count={products.data.count} onChange={(value) => update("offset", String(value))} /> : null}
      </section>
    </div>
  );
}

interface ProductForm {
  sku: string;
  name: string;
  price: string;
  currency: string;
  stock: string;
  category: string;
  tags: string;
  url: string;
  image_url: string;
}

function toForm(product?: Product): ProductForm {
  return {
    sku: product?.sku ?? "",
    name: product?.name ?? "",
    price: product ? String(product.price) : "",
    currency: product?.currency ?? "EUR",
    stock: product?.stock === null || product?.stock === undefined ? "" : String(product.stock),
    category: product?.category ?? "",
    tags: (product?.tags ?? []).join(", "),
    url: product?.url ?? "",
    image_url: product?.image_url ?? "",
  };
}

function ProductEditor() {
  const { id } = useParams();
  const creating = id === undefined;
  const product = useQuery({
    queryKey: ["products", "detail", id],
    queryFn: ({ signal }) => api.get<Product>(`products/${id}`, undefined, signal),
    enabled: !creating,
  });
  if (!creating && product.isPending) return <Loading />;
  if (!creating && (product.error || !product.data)) {
    return (
      <div className="page">
        <PageHeader title="Product" />
        <ErrorBanner error={product.error} />
        <Link to="/catalog">Back to the catalog</Link>
      </div>
    );
  }
  return <ProductFormPage key={id ?? "new"} product={product.data} />;
}

function ProductFormPage({ product }: { product?: Product }) {
  const canEdit = useCan("edit");
  const client = useQueryClient();
  const navigate = useNavigate();
  const [form, setForm] = useState<ProductForm>(toForm(product));
  const [saved, setSaved] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: form.name,
        price: form.price,
        currency: form.currency,
        stock: form.stock === "" ? null : Number(form.stock),
        category: form.category,
        tags: form.tags.split(",").map((tag) => tag.trim()).filter(Boolean),
        url: form.url,
        image_url: form.image_url,
      };
      return product ? api.patch<Product>(`products/${product.id}`, body) : api.post<Product>("products", { ...body, sku: form.sku });
    },
    onSuccess: (answer) => {
      void client.invalidateQueries({ queryKey: ["products"] });
      client.setQueryData(["products", "detail", String(answer.id)], answer);
      setSaved(true);
      if (!product) navigate(`/catalog/${answer.id}`, { replace: true });
      else setForm(toForm(answer));
    },
  });
  const remove = useMutation({
    mutationFn: () => api.delete(`products/${product?.id}`),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["products"] });
      navigate("/catalog");
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    save.mutate();
  }
  const set = (key: keyof ProductForm) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value });
  const shown = ["sku", "name", "price", "currency", "stock", "category", "tags", "url", "image_url"];
  const current = product ? client.getQueryData<Product>(["products", "detail", String(product.id)]) ?? product : undefined;
  return (
    <div className="page">
      <p>
        <Link to="/catalog">← Catalog</Link>
      </p>
      <PageHeader title={product ? product.name : "New product"} description={product ? <span className="mono">{product.sku}</span> : undefined} />
      {saved ? <Banner tone="success">Saved.</Banner> : null}
      <section className="card">
        <form onSubmit={submit} noValidate aria-label="Product">
          <ErrorBanner error={save.error} shownFields={shown} />
          <fieldset disabled={!canEdit} style={{ border: 0, padding: 0, margin: 0 }}>
            <div className="form-grid">
              <TextField label="Sku" value={form.sku} onChange={set("sku")} readOnly={Boolean(product)} required error={fieldError(save.error, "sku")} />
              <TextField label="Name" value={form.name} onChange={set("name")} required error={fieldError(save.error, "name")} />
              <TextField label="Price" inputMode="decimal" value={form.price} onChange={set("price")} required error={fieldError(save.error, "price")} />
              <TextField label="Currency" value={form.currency} onChange={set("currency")} maxLength={3} error={fieldError(save.error, "currency")} />
              <TextField label="Stock" inputMode="numeric" value={form.stock} onChange={set("stock")} hint="Empty: not tracked" error={fieldError(save.error, "stock")} />
              <TextField label="Category" value={form.category} onChange={set("category")} error={fieldError(save.error, "category")} />
              <TextField label="Tags" value={form.tags} onChange={set("tags")} hint="Comma-separated" error={fieldError(save.error, "tags")} />
              <TextField label="Product URL" type="url" value={form.url} onChange={set("url")} error={fieldError(save.error, "url")} />
              <TextField label="Image URL" type="url" value={form.image_url} onChange={set("image_url")} error={fieldError(save.error, "image_url")} />
            </div>
          </fieldset>
          {canEdit ? (
            <div className="form-submit">
              <button type="submit" className="button button-primary" disabled={save.isPending}>
                {save.isPending ? "Saving…" : product ? "Save product" : "Create product"}
              </button>
            </div>
          ) : (
            <p className="muted">Your role can read the catalog but not change it.</p>
          )}
        </form>
      </section>
      {current?.price_history ? (
        <section className="card card-flush" aria-labelledby="history-heading">
          <div className="card-header">
            <h2 id="history-heading">Price history</h2>
          </div>
          <table className="table" aria-label="Price history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col" className="num">From</th>
                <th scope="col" className="num">To</th>
              </tr>
            </thead>
            <tbody>
              {current.price_history.map((change, index) => (
                <tr key={index}>
                  <td>{formatDateTime(change.changed_at)}</td>
                  <td className="num">{change.old_price === null ? "—" : formatMoney(Number(change.old_price), current.currency)}</td>
                  <td className="num">{formatMoney(Number(change.new_price), current.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {product && canEdit ? (
        <section className="card danger-zone">
          <ErrorBanner error={remove.error} />
          {confirmDelete ? (
            <span className="confirm-inline">
              <span>Delete “{product.name}”?</span>
              <button type="button" className="button button-small button-danger-solid" onClick={() => remove.mutate()} disabled={remove.isPending}>
                Confirm delete
              </button>
              <button type="button" className="button button-small button-quiet" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
              Delete product…
            </button>
          )}
        </section>
      ) : null}
    </div>
  );
}
