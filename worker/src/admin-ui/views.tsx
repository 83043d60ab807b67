/**
 * The admin page's HTML, as Hono JSX rendered on the server: no script at all, plain forms and links, so
 * everything works with the keyboard and under a Content-Security-Policy without 'unsafe-inline'.
 * Text and attribute values are escaped by the JSX renderer.
 */
import type { Child } from "hono/jsx";
import type { Binding, Tenant } from "../store/store";
import { formatRemaining } from "./format";
import type { Figure, GatewayMetricsView } from "./gateway-metrics";

export const UI_BASE = "/admin/ui";

interface LayoutProps {
  readonly title: string;
  /** The CSRF token of the session; present when logged in (shows the logout button). */
  readonly csrf?: string | undefined;
  readonly children?: Child;
}

/** The page frame: language, title, style sheet, skip link, header with logout. */
export function Layout({ title, csrf, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · edge-registrar admin`}</title>
        <link rel="stylesheet" href={`${UI_BASE}/style.css`} />
        <link rel="icon" href={`${UI_BASE}/favicon.svg`} type="image/svg+xml" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to main content
        </a>
        <header class="top">
          <h1>
            {csrf === undefined ? "edge-registrar admin" : <a href={UI_BASE}>edge-registrar admin</a>}
          </h1>
          {csrf !== undefined && (
            <form class="inline" method="post" action={`${UI_BASE}/logout`}>
              <input type="hidden" name="csrf" value={csrf} />
              <button type="submit" class="plain">
                Log out
              </button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
      </body>
    </html>
  );
}

/** The login form: the admin token is POSTed, never put in a URL. */
export function LoginPage({ error, info }: { error?: string | undefined; info?: string | undefined }) {
  return (
    <Layout title="Log in">
      <div class="login">
        <h2>Log in</h2>
        {info && (
          <p class="notice" role="status">
            {info}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <form method="post" action={`${UI_BASE}/login`}>
          <p>
            <label for="token">Admin token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required />
          </p>
          <p>
            <button type="submit">Log in</button>
          </p>
        </form>
        <p class="muted">The token is the worker's ADMIN_TOKEN secret. The session lasts 8 hours.</p>
      </div>
    </Layout>
  );
}

/** A page that only says what went wrong, with a way on. */
export function MessagePage({ title, message, csrf, link }: { title: string; message: string; csrf?: string | undefined; link: { href: string; text: string } }) {
  return (
    <Layout title={title} csrf={csrf}>
      <h2>{title}</h2>
      <p class="error" role="alert">
        {message}
      </p>
      <p>
        <a href={link.href}>{link.text}</a>
      </p>
    </Layout>
  );
}

/** Human text for a dispatcher `state` (OpenSIPS: 0 active, 1 inactive, 2 probing). */
export function destinationStateLabel(state: number): { text: string; cls: string } {
  switch (state) {
    case 0:
      return { text: "active", cls: "state-active" };
    case 1:
      return { text: "inactive", cls: "state-inactive" };
    case 2:
      return { text: "probing", cls: "state-probing" };
    default:
      return { text: `unknown (${state})`, cls: "state-unknown" };
  }
}

function FigureText({ figure }: { figure: Figure }) {
  if (!figure.available) return <span class="muted">{figure.why}</span>;
  const value = figure.unit === "%" ? `${figure.value.toFixed(2)} %` : `${figure.value.toFixed(1)} ms`;
  return (
    <span>
      <strong>{value}</strong> <span class="muted">({figure.basis})</span>
    </span>
  );
}

function TriggersSection({ metrics }: { metrics: GatewayMetricsView }) {
  return (
    <section aria-labelledby="triggers-h">
      <h2 id="triggers-h">Rollback triggers</h2>
      {metrics.state === "not-configured" && (
        <p class="muted">Not available: no gateway metrics URL is configured (GATEWAY_METRICS_URL).</p>
      )}
      {metrics.state === "unreachable" && <p class="error">Not available: the gateway's metrics did not answer ({metrics.why}).</p>}
      {metrics.state === "ok" && (
        <>
          <dl class="figures">
            <dt>Registration failures</dt>
            <dd>
              <FigureText figure={metrics.figures.registrationFailurePct} />
            </dd>
            <dt>Routing failures</dt>
            <dd>
              <FigureText figure={metrics.figures.routingFailurePct} />
            </dd>
            <dt>Added latency</dt>
            <dd>
              <FigureText figure={metrics.figures.addedLatencyMs} />
            </dd>
          </dl>
          <p class="muted">Counted by the gateway since it started, all tenants together (per tenant and over a window: edgectl rollback-check).</p>
        </>
      )}
    </section>
  );
}

function TenantsSection({ tenants }: { tenants: readonly Tenant[] }) {
  return (
    <section aria-labelledby="tenants-h">
      <h2 id="tenants-h">Tenants</h2>
      {tenants.length === 0 ? (
        <p>No tenants.</p>
      ) : (
        <table>
          <caption>Tenants and the destinations of their dispatcher sets</caption>
          <thead>
            <tr>
              <th scope="col">Tenant domain</th>
              <th scope="col">Set</th>
              <th scope="col">Destination</th>
              <th scope="col">State</th>
              <th scope="col">Weight</th>
              <th scope="col">Priority</th>
            </tr>
          </thead>
          {tenants.map((t) => {
            const dests = t.destinations.length > 0 ? t.destinations : [undefined];
            return (
              <tbody>
                {dests.map((d, i) => {
                  const state = d === undefined ? undefined : destinationStateLabel(d.state);
                  return (
                    <tr>
                      {i === 0 && (
                        <>
                          <th scope="rowgroup" rowspan={dests.length}>
                            {t.domain}
                          </th>
                          <td class="num" rowspan={dests.length}>
                            {t.setid}
                          </td>
                        </>
                      )}
                      {d === undefined || state === undefined ? (
                        <td colspan={4}>no destinations</td>
                      ) : (
                        <>
                          <td class="mono">{d.uri}</td>
                          <td>
                            <span class={`state ${state.cls}`}>{state.text}</span>
                          </td>
                          <td class="num">{d.weight}</td>
                          <td class="num">{d.priority}</td>
                        </>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            );
          })}
        </table>
      )}
    </section>
  );
}

export interface BindingQuery {
  readonly ext: string | undefined;
  readonly tenant: string | undefined;
}

/** The query string that brings the page back to this search (for links and redirects). */
export function queryString(q: BindingQuery): string {
  const p = new URLSearchParams();
  if (q.ext) p.set("ext", q.ext);
  if (q.tenant) p.set("tenant", q.tenant);
  const s = p.toString();
  return s ? `?${s}` : "";
}

function BindingsTable({ domain, bindings, now, query }: { domain: string; bindings: readonly Binding[]; now: number; query: BindingQuery }) {
  return (
    <table>
      <caption class="sr-only">Bindings of {domain}</caption>
      <thead>
        <tr>
          <th scope="col">AoR</th>
          <th scope="col">Contact</th>
          <th scope="col">NAT address</th>
          <th scope="col">Expires in</th>
          <th scope="col">User agent</th>
          <th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        {bindings.map((b) => (
          <tr>
            <th scope="row" class="mono">{`${b.username}@${b.domain}`}</th>
            <td class="mono">{b.contact}</td>
            <td class="mono">{b.received ?? <span class="muted">none</span>}</td>
            <td>{formatRemaining(b.expires, now)}</td>
            <td>{b.userAgent || <span class="muted">none</span>}</td>
            <td>
              <a
                href={`${UI_BASE}/bindings/${b.id}/remove${queryString(query)}`}
                aria-label={`Remove binding ${b.username}@${b.domain} ${b.contact}`}
              >
                Remove…
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface DashboardProps {
  readonly csrf: string;
  readonly tenants: readonly Tenant[];
  readonly bindings: readonly Binding[];
  /** The listing hit its limit: more bindings exist than are shown. */
  readonly truncated: boolean;
  readonly limit: number;
  readonly query: BindingQuery;
  readonly metrics: GatewayMetricsView;
  readonly notice?: string | undefined;
  readonly error?: string | undefined;
  /** Unix seconds. */
  readonly now: number;
}

/** The main page: triggers, tenants, bindings per tenant with the search. */
export function DashboardPage(p: DashboardProps) {
  const byDomain = new Map<string, Binding[]>();
  for (const t of p.tenants) if (!p.query.tenant || t.domain === p.query.tenant) byDomain.set(t.domain, []);
  for (const b of p.bindings) {
    const list = byDomain.get(b.domain) ?? [];
    list.push(b);
    byDomain.set(b.domain, list);
  }
  const searching = p.query.ext !== undefined || p.query.tenant !== undefined;
  return (
    <Layout title={p.query.ext ? `Extension ${p.query.ext}` : "Overview"} csrf={p.csrf}>
      {p.notice && (
        <p class="notice" role="status">
          {p.notice}
        </p>
      )}
      {p.error && (
        <p class="error" role="alert">
          {p.error}
        </p>
      )}
      <TriggersSection metrics={p.metrics} />
      <TenantsSection tenants={p.tenants} />
      <section aria-labelledby="bindings-h">
        <h2 id="bindings-h">Bindings</h2>
        <form class="search" method="get" action={UI_BASE} role="search">
          <div>
            <label for="ext">Extension</label>
            <input id="ext" name="ext" type="search" value={p.query.ext ?? ""} maxlength={128} autocomplete="off" />
          </div>
          <div>
            <label for="tenant">Tenant</label>
            <select id="tenant" name="tenant">
              <option value="" selected={!p.query.tenant}>
                All tenants
              </option>
              {p.tenants.map((t) => (
                <option value={t.domain} selected={p.query.tenant === t.domain}>
                  {t.domain}
                </option>
              ))}
            </select>
          </div>
          <div>
            <button type="submit">Search</button>
          </div>
          {searching && (
            <div>
              <a href={UI_BASE}>Show all bindings</a>
            </div>
          )}
        </form>
        <p role="status">
          {p.query.ext
            ? `${p.bindings.length} binding${p.bindings.length === 1 ? "" : "s"} of extension ${p.query.ext}${p.query.tenant ? ` in ${p.query.tenant}` : ""}.`
            : `${p.bindings.length} binding${p.bindings.length === 1 ? "" : "s"}${p.query.tenant ? ` in ${p.query.tenant}` : ""}.`}
          {p.truncated && ` Only the first ${p.limit} are shown: search by extension or tenant.`}
        </p>
        {[...byDomain].map(([domain, list]) =>
          list.length === 0 ? (
            p.query.ext ? null : (
              <>
                <h3>{domain}</h3>
                <p class="muted">No bindings.</p>
              </>
            )
          ) : (
            <>
              <h3>{domain}</h3>
              <BindingsTable domain={domain} bindings={list} now={p.now} query={p.query} />
            </>
          ),
        )}
      </section>
    </Layout>
  );
}

/** The confirmation step before a binding is removed: details, a POST form, and a way back. */
export function ConfirmRemovePage({ binding: b, csrf, now, query }: { binding: Binding; csrf: string; now: number; query: BindingQuery }) {
  return (
    <Layout title="Remove binding?" csrf={csrf}>
      <h2>Remove this binding?</h2>
      <dl class="binding">
        <dt>AoR</dt>
        <dd class="mono">{`${b.username}@${b.domain}`}</dd>
        <dt>Contact</dt>
        <dd class="mono">{b.contact}</dd>
        <dt>NAT address</dt>
        <dd class="mono">{b.received ?? "none"}</dd>
        <dt>Expires in</dt>
        <dd>{formatRemaining(b.expires, now)}</dd>
        <dt>User agent</dt>
        <dd>{b.userAgent || "none"}</dd>
      </dl>
      <p>
        The phone stops receiving calls through this binding until it registers again (at its next refresh at the
        latest).
      </p>
      <form method="post" action={`${UI_BASE}/bindings/${b.id}/remove`}>
        <input type="hidden" name="csrf" value={csrf} />
        {query.ext && <input type="hidden" name="ext" value={query.ext} />}
        {query.tenant && <input type="hidden" name="tenant" value={query.tenant} />}
        <div class="actions">
          <button type="submit" class="danger">
            Remove binding
          </button>
          <a href={`${UI_BASE}${queryString(query)}`}>Cancel</a>
        </div>
      </form>
    </Layout>
  );
}
