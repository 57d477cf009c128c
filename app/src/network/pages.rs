use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::{
    customers::pages::local_time,
    error::AppError,
    network::{
        api::{
            CreateRouter, DeleteRouter, ResyncRouter, RetryRouterCommands, RotateRouterSecret,
            UpdateRouter, get_router, list_routers,
        },
        model::{CommandRow, LatencyFigures, RouterMode, RouterRow},
    },
};

fn error_text(e: AppError) -> String {
    match e {
        AppError::Invalid { field, reason } => format!("{}: {reason}", field.replace('_', " ")),
        other => other.to_string(),
    }
}

fn status_badge(router: &RouterRow) -> impl IntoView + use<> {
    let (class, text) = match (router.mode, router.online, router.last_seen_at) {
        (RouterMode::Radius, _, _) => ("badge badge-neutral", "RADIUS"),
        (_, true, _) => ("badge badge-success", "Online"),
        (_, false, None) => ("badge badge-neutral", "Never seen"),
        (_, false, Some(_)) => ("badge badge-danger", "Offline"),
    };
    view! { <span class=class data-testid="router-status">{text}</span> }
}

/// `/app/routers`: the ISP's routers, whether each is online, what waits for it, and a form
/// for a new one.
#[component]
pub fn RoutersPage() -> impl IntoView {
    let create = ServerAction::<CreateRouter>::new();
    let routers = Resource::new(move || create.version().get(), |_| list_routers());
    let created = create.value();
    let field_error = move |field: &'static str| {
        move || match created.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    let (mode, set_mode) = signal(RouterMode::Agent);

    view! {
        <Title text="Routers" />
        <header class="page-header">
            <h1>"Routers"</h1>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match routers.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(list) if list.routers.is_empty() => view! {
                        <section class="card empty-state">
                            <h2>"No routers yet"</h2>
                            <p>"Add the MikroTik routers your customers connect through. Jasiyo then turns customers off when they expire and back on the moment they pay."</p>
                        </section>
                    }.into_any(),
                    Ok(list) => {
                        let offset = list.utc_offset_seconds;
                        view! {
                            <div class="table-wrap">
                                <table data-testid="routers-table">
                                    <thead><tr>
                                        <th>"Router"</th><th>"Connection"</th><th>"Status"</th><th>"RouterOS"</th>
                                        <th class="num">"Services"</th><th class="num">"Waiting"</th><th class="num">"Failed"</th><th>"Last seen"</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.routers.into_iter().map(|r| {
                                            let href = format!("/app/routers/{}", r.id);
                                            let seen = r.last_seen_at.map(|t| local_time(t, offset)).unwrap_or_else(|| "—".into());
                                            view! {
                                                <tr data-testid="router-row">
                                                    <td><a href=href>{r.name.clone()}</a><br /><span class="muted">{r.site.clone().unwrap_or_default()}</span></td>
                                                    <td>{r.mode.label()}</td>
                                                    <td>{status_badge(&r)}</td>
                                                    <td>{r.routeros_version.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td class="num">{r.services}</td>
                                                    <td class="num">{r.waiting}</td>
                                                    <td class="num">{r.failed}</td>
                                                    <td>{seen}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>

        <section class="card" aria-labelledby="new-router-title">
            <h2 id="new-router-title">"Add a router"</h2>
            {move || match created.get() {
                Some(Ok(r)) => Some(view! {
                    <p class="alert alert-info" role="status" data-testid="router-created">
                        {format!("{} added. ", r.name)}
                        <a href=format!("/app/routers/{}", r.id)>"Open it to connect it"</a>
                    </p>
                }.into_any()),
                Some(Err(AppError::Invalid { .. })) | None => None,
                Some(Err(e)) => Some(view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any()),
            }}
            <ActionForm action=create>
                <div class="form-grid">
                    <Field name="name" label="Name" error=field_error("name")><input id="name" name="form[name]" required placeholder="Kasarani POP" /></Field>
                    <Field name="site" label="Site (optional)" error=field_error("site")><input id="site" name="form[site]" placeholder="Mwiki road, mast 2" /></Field>
                    <Field name="mode" label="How Jasiyo reaches it" error=field_error("mode")>
                        <select id="mode" name="form[mode]" on:change=move |ev| {
                            if let Ok(m) = RouterMode::parse(&event_target_value(&ev)) { set_mode.set(m) }
                        }>
                            {RouterMode::ALL.map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                        </select>
                    </Field>
                    <Field name="interval_secs" label="Check every (seconds)" error=field_error("interval_secs")>
                        <input id="interval_secs" name="form[interval_secs]" inputmode="numeric" value="10" />
                    </Field>
                    <Show when=move || mode.get() != RouterMode::Agent>
                        <Field name="host" label="Address (IP or host name)" error=field_error("host")><input id="host" name="form[host]" placeholder="10.10.0.1" /></Field>
                    </Show>
                    <Show when=move || mode.get() == RouterMode::Radius>
                        <Field name="port" label="Disconnect port (blank: 3799)" error=field_error("port")><input id="port" name="form[port]" inputmode="numeric" /></Field>
                    </Show>
                    <Show when=move || mode.get().is_pushed()>
                        <Field name="port" label="Port (blank: the usual)" error=field_error("port")><input id="port" name="form[port]" inputmode="numeric" /></Field>
                        <div class="field">
                            <label><input type="checkbox" name="form[tls]" value="on" checked=move || mode.get() == RouterMode::Rest />" Encrypted (https / API-SSL)"</label>
                        </div>
                        <Field name="api_username" label="RouterOS user" error=field_error("api_username")><input id="api_username" name="form[api_username]" autocomplete="off" /></Field>
                        <Field name="api_password" label="Its password" error=field_error("api_password")><input id="api_password" type="password" name="form[api_password]" autocomplete="new-password" /></Field>
                    </Show>
                </div>
                <p class="muted">{move || match mode.get() {
                    RouterMode::Agent => "The router calls Jasiyo every few seconds: no port to open, works behind NAT. You will get a script to paste into its terminal.",
                    RouterMode::Rest => "RouterOS 7: Jasiyo connects to the router's REST API (enable www-ssl on the router).",
                    RouterMode::Api => "Jasiyo connects to the RouterOS API on port 8728; use it over a private link or VPN.",
                    RouterMode::Radius => "The router asks Jasiyo's RADIUS server at every log-in; Jasiyo disconnects sessions when a service is cut off.",
                }}</p>
                <button type="submit" class="button">"Add router"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Field<E>(name: &'static str, label: &'static str, error: E, children: Children) -> impl IntoView
where
    E: Fn() -> Option<String> + Send + Sync + Copy + 'static,
{
    view! {
        <div class="field">
            <label for=name>{label}</label>
            {children()}
            <span class="error" role="alert">{error}</span>
        </div>
    }
}

fn figures(label: &'static str, f: &LatencyFigures) -> impl IntoView + use<> {
    let ms = |v: Option<i64>| {
        v.map(|ms| {
            if ms < 10_000 {
                format!("{:.1} s", ms as f64 / 1000.0)
            } else {
                format!("{} s", ms / 1000)
            }
        })
        .unwrap_or_else(|| "—".into())
    };
    view! {
        <div class="stat">
            <span class="stat-label">{label}</span>
            <span class="stat-value">{format!("p50 {} · p95 {}", ms(f.p50_ms), ms(f.p95_ms))}</span>
            <span class="muted">{format!("{} in 7 days, slowest {}", f.count, ms(f.max_ms))}</span>
        </div>
    }
}

fn command_status(c: &CommandRow) -> impl IntoView + use<> {
    let class = match c.status.as_str() {
        "confirmed" => "badge badge-success",
        "failed" => "badge badge-danger",
        "superseded" => "badge badge-neutral",
        _ => "badge badge-warning",
    };
    view! { <span class=class>{c.status.clone()}</span> }
}

/// `/app/routers/:id`: one router, its queue and recent results, its latency figures, and (for
/// the agent) the script to paste into it.
#[component]
pub fn RouterPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let update = ServerAction::<UpdateRouter>::new();
    let rotate = ServerAction::<RotateRouterSecret>::new();
    let retry = ServerAction::<RetryRouterCommands>::new();
    let delete = ServerAction::<DeleteRouter>::new();
    let resync = ServerAction::<ResyncRouter>::new();
    let (confirm_resync, set_confirm_resync) = signal(false);
    let (tick, set_tick) = signal(0_u32);
    // The queue moves by itself: look again every 5 seconds while the page is open.
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || set_tick.update(|t| *t = t.wrapping_add(1)),
            std::time::Duration::from_secs(5),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let detail = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                rotate.version().get(),
                retry.version().get(),
                resync.version().get(),
                tick.get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_router(id).await,
                None => Err(AppError::NotFound {
                    what: "That router".into(),
                }),
            }
        },
    );
    let (confirm_rotate, set_confirm_rotate) = signal(false);
    let action_error = move || {
        update
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| rotate.value().get().and_then(Result::err))
            .or_else(|| retry.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
            .or_else(|| resync.value().get().and_then(Result::err))
            .map(error_text)
    };
    Effect::new(move |_| {
        if delete.value().get().is_some_and(|r| r.is_ok()) {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/app/routers", Default::default());
        }
    });

    view! {
        <Title text="Router" />
        {move || action_error().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let d = match detail.await {
                    Ok(d) => d,
                    Err(err) => return view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                };
                let offset = d.utc_offset_seconds;
                let r = d.router.clone();
                let rid = r.id;
                let seen = r.last_seen_at.map(|t| local_time(t, offset)).unwrap_or_else(|| "never".into());
                let address = r.host.clone().map(|h| match r.port { Some(p) => format!("{h}:{p}"), None => h }).unwrap_or_else(|| "—".into());
                let script = d.install_script.clone();
                let hotspot_setup = d.hotspot_setup.clone();
                let has_failed = r.failed > 0;
                view! {
                    <header class="page-header">
                        <h1>{r.name.clone()}" " {status_badge(&r)}</h1>
                        <a href="/app/routers" class="button-link">"All routers"</a>
                    </header>
                    <section class="card">
                        <dl class="facts">
                            <div><dt>"Connection"</dt><dd>{r.mode.label()}</dd></div>
                            <div><dt>"Site"</dt><dd>{r.site.clone().unwrap_or_else(|| "—".into())}</dd></div>
                            <div><dt>"Address"</dt><dd>{address}</dd></div>
                            <div><dt>"Checks every"</dt><dd>{format!("{} s", r.interval_secs)}</dd></div>
                            <div><dt>"RouterOS"</dt><dd>{r.routeros_version.clone().unwrap_or_else(|| "—".into())}</dd></div>
                            <div><dt>"Last seen"</dt><dd data-testid="router-last-seen">{seen}</dd></div>
                            <div><dt>"Services"</dt><dd>{r.services}</dd></div>
                        </dl>
                        {r.last_error.clone().map(|e| view! { <p class="alert alert-danger" data-testid="router-error">{format!("Last problem: {e}")}</p> })}
                    </section>
                    <section class="card">
                        <h2>"How fast it acts"</h2>
                        <div class="stats">
                            {figures("Expiry to cut-off", &d.cut_off)}
                            {figures("Payment to reconnection", &d.reconnect)}
                        </div>
                    </section>
                    {script.map(|script| {
                        let copy = script.clone();
                        view! {
                            <section class="card" aria-labelledby="install-title">
                                <h2 id="install-title">"Connect this router"</h2>
                                {if r.mode == RouterMode::Radius {
                                    view! { <p>"Open the router's terminal (WinBox → New Terminal, or SSH) and paste this. It points the router's PPPoE and hotspot log-ins at Jasiyo's RADIUS server with this router's shared secret, and lets Jasiyo disconnect a session when a service is cut off."</p> }.into_any()
                                } else {
                                    view! { <p>"Open the router's terminal (WinBox → New Terminal, or SSH) and paste this. It installs a script that checks in with Jasiyo every "{r.interval_secs}" seconds; the router needs to reach this server over HTTPS, nothing needs to reach the router."</p> }.into_any()
                                }}
                                <textarea class="code-block" readonly rows="8" data-testid="install-script">{script}</textarea>
                                <p>
                                    <button type="button" class="button button-small" data-testid="copy-script" on:click=move |_| crate::payments::pages::copy_text(&copy)>"Copy script"</button>
                                    " "
                                    <Show when=move || d.can_manage>
                                        <Show when=move || confirm_rotate.get() fallback=move || view! {
                                            <button type="button" class="button-link" on:click=move |_| set_confirm_rotate.set(true)>"New secret…"</button>
                                        }>
                                            <ActionForm action=rotate attr:class="inline-form">
                                                <input type="hidden" name="id" value=rid.to_string() />
                                                "The old script stops working at once. "
                                                <button type="submit" class="button button-danger button-small">"Make a new secret"</button>
                                                <button type="button" class="button-link" on:click=move |_| set_confirm_rotate.set(false)>"Cancel"</button>
                                            </ActionForm>
                                        </Show>
                                    </Show>
                                </p>
                            </section>
                        }
                    })}
                    {hotspot_setup.map(|lines| view! {
                        <section class="card" aria-labelledby="hotspot-title">
                            <h2 id="hotspot-title">"Hotspot login page"</h2>
                            <p>"To sell packages on this router's hotspot, put this "<code>"login.html"</code>" in the router's "<code>"hotspot"</code>" folder (WinBox → Files, drag it in, replacing the old one). Visitors then land on your WiFi page, buy by M-Pesa or type a voucher, and are logged in."</p>
                            <p><a class="button button-secondary button-small" href=format!("/app/routers/{rid}/login.html") download="login.html" data-testid="hotspot-login-download">"Download login.html"</a></p>
                            <p>"Then let visitors reach this server before they log in, and allow log-in by plain password (the page posts the code itself):"</p>
                            <textarea class="code-block" readonly rows="3" data-testid="hotspot-setup">{lines}</textarea>
                        </section>
                    })}
                    <section class="card" aria-labelledby="queue-title">
                        <h2 id="queue-title">"Commands"</h2>
                        <Show when=move || d.can_manage && has_failed>
                            <ActionForm action=retry>
                                <input type="hidden" name="id" value=rid.to_string() />
                                <button type="submit" class="button button-secondary button-small" data-testid="retry-failed">"Retry failed commands"</button>
                            </ActionForm>
                        </Show>
                        <Show when=move || d.can_manage>
                            <Show when=move || confirm_resync.get() fallback=move || view! {
                                <button type="button" class="button-link" on:click=move |_| set_confirm_resync.set(true)>"Send everything again…"</button>
                            }>
                                <ActionForm action=resync attr:class="inline-form">
                                    <input type="hidden" name="id" value=rid.to_string() />
                                    "Every user on this router is sent again (after a reset or a replacement). "
                                    <button type="submit" class="button button-small" data-testid="resync">"Send everything again"</button>
                                    <button type="button" class="button-link" on:click=move |_| set_confirm_resync.set(false)>"Cancel"</button>
                                </ActionForm>
                            </Show>
                        </Show>
                        {if d.commands.is_empty() {
                            view! { <p class="muted">"Nothing has been sent to this router yet. Commands appear here when a customer on it is added, cut off or reconnected."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table data-testid="commands-table">
                                        <thead><tr><th>"User"</th><th>"To"</th><th>"Why"</th><th>"Status"</th><th class="num">"Tries"</th><th>"Queued"</th><th class="num">"Took"</th><th>"Router said"</th></tr></thead>
                                        <tbody>
                                            {d.commands.iter().map(|c| view! {
                                                <tr data-testid="command-row">
                                                    <td>{c.username.clone()}</td>
                                                    <td>{c.desired_label()}</td>
                                                    <td>{c.reason_label()}</td>
                                                    <td>{command_status(c)}</td>
                                                    <td class="num">{c.attempts}</td>
                                                    <td>{local_time(c.created_at, offset)}</td>
                                                    <td class="num">{c.latency_ms.map(|ms| format!("{:.1} s", ms as f64 / 1000.0)).unwrap_or_default()}</td>
                                                    <td>{c.last_error.clone().unwrap_or_default()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    </section>
                    {d.can_manage.then(|| view! { <RouterEdit router=r.clone() update delete /> })}
                }.into_any()
            })}
        </Transition>
    }
}

/// The edit form and the delete button of a router's page.
#[component]
fn RouterEdit(
    router: RouterRow,
    update: ServerAction<UpdateRouter>,
    delete: ServerAction<DeleteRouter>,
) -> impl IntoView {
    let (confirm_delete, set_confirm_delete) = signal(false);
    let r = router;
    let rid = r.id;
    let address = (r.mode != RouterMode::Agent).then(|| {
        view! { <div class="field"><label>"Address"<input name="form[host]" value=r.host.clone().unwrap_or_default() /></label></div> }
    });
    let dm_port = (r.mode == RouterMode::Radius).then(|| {
        view! { <div class="field"><label>"Disconnect port"<input name="form[port]" inputmode="numeric" value=r.port.map(|p| p.to_string()).unwrap_or_default() /></label></div> }
    });
    let api = r.mode.is_pushed().then(|| {
        view! {
            <div class="field"><label>"Port"<input name="form[port]" inputmode="numeric" value=r.port.map(|p| p.to_string()).unwrap_or_default() /></label></div>
            <div class="field"><label><input type="checkbox" name="form[tls]" value="on" checked=r.tls />" Encrypted"</label></div>
            <div class="field"><label>"RouterOS user"<input name="form[api_username]" value=r.api_username.clone().unwrap_or_default() autocomplete="off" /></label></div>
            <div class="field"><label>"Password (blank keeps it)"<input type="password" name="form[api_password]" autocomplete="new-password" /></label></div>
        }
    });
    view! {
        <details class="card">
            <summary>"Edit router"</summary>
            <ActionForm action=update>
                <input type="hidden" name="id" value=rid.to_string() />
                <input type="hidden" name="form[mode]" value=r.mode.as_str() />
                <div class="form-grid">
                    <div class="field"><label>"Name"<input name="form[name]" value=r.name.clone() required /></label></div>
                    <div class="field"><label>"Site"<input name="form[site]" value=r.site.clone().unwrap_or_default() /></label></div>
                    <div class="field"><label>"Check every (seconds)"<input name="form[interval_secs]" inputmode="numeric" value=r.interval_secs.to_string() /></label></div>
                    {address}
                    {dm_port}
                    {api}
                </div>
                <button type="submit" class="button button-small">"Save changes"</button>
            </ActionForm>
            <Show when=move || confirm_delete.get() fallback=move || view! {
                <button type="button" class="button-link" on:click=move |_| set_confirm_delete.set(true)>"Delete router…"</button>
            }>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=rid.to_string() />
                    <button type="submit" class="button button-danger button-small">"Yes, delete this router"</button>
                    <button type="button" class="button-link" on:click=move |_| set_confirm_delete.set(false)>"Cancel"</button>
                </ActionForm>
            </Show>
        </details>
    }
}
