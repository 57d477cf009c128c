use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::{
    customers::pages::local_time,
    error::AppError,
    money::format_kes,
    vouchers::{
        api::{GenerateVouchers, get_voucher_sheet, list_vouchers},
        model::{MAX_BATCH, VoucherStatus},
    },
};

fn status_badge(status: VoucherStatus) -> impl IntoView {
    let class = match status {
        VoucherStatus::Available => "badge badge-success",
        VoucherStatus::Used => "badge badge-warning",
        VoucherStatus::Expired => "badge badge-neutral",
    };
    view! { <span class=class>{status.label()}</span> }
}

/// `/app/vouchers`: generate a batch for a hotspot plan, the batches with how many are left,
/// and the vouchers filtered by status or batch.
#[component]
pub fn VouchersPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").unwrap_or_default();
    let batch = move || query.read().get("batch").unwrap_or_default();
    let generate = ServerAction::<GenerateVouchers>::new();
    let page = Resource::new(
        move || (status(), batch(), generate.version().get()),
        |(status, batch, _)| list_vouchers(status, batch),
    );
    let result = generate.value();
    let field_error = move |field: &'static str| {
        move || match result.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };

    view! {
        <Title text="Vouchers" />
        <header class="page-header">
            <h1>"Vouchers"</h1>
        </header>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match page.await {
                    Ok(p) => p,
                    Err(err) => return view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                };
                let offset = p.utc_offset_seconds;
                let generate_form = p.can_manage.then(|| {
                    let plans = p.plans.clone();
                    let routers = p.routers.clone();
                    let no_plans = plans.is_empty();
                    view! {
                        <section class="card" aria-labelledby="generate-title">
                            <h2 id="generate-title">"Make vouchers"</h2>
                            {move || match result.get() {
                                Some(Ok(batch)) => Some(view! {
                                    <p class="alert alert-info" role="status" data-testid="vouchers-made">
                                        "Vouchers made. "
                                        <a href=format!("/vouchers/print/{batch}") target="_blank" rel="noopener">"Print them"</a>
                                    </p>
                                }.into_any()),
                                Some(Err(AppError::Invalid { .. })) | None => None,
                                Some(Err(e)) => Some(view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any()),
                            }}
                            {no_plans.then(|| view! { <p class="muted">"Add a hotspot plan on the Plans page first: vouchers sell a hotspot plan."</p> })}
                            <ActionForm action=generate>
                                <div class="form-grid">
                                    <div class="field">
                                        <label for="voucher-plan">"Hotspot plan"</label>
                                        <select id="voucher-plan" name="form[plan_id]" required>
                                            {plans.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                                        </select>
                                        <span class="error" role="alert">{field_error("plan_id")}</span>
                                    </div>
                                    <div class="field">
                                        <label for="voucher-router">"Router"</label>
                                        <select id="voucher-router" name="form[router_id]">
                                            <option value="">"None (RADIUS answers them)"</option>
                                            {routers.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                                        </select>
                                        <span class="error" role="alert">{field_error("router_id")}</span>
                                    </div>
                                    <div class="field">
                                        <label for="voucher-count">"How many"</label>
                                        <input id="voucher-count" name="form[count]" inputmode="numeric" value="50" required />
                                        <span class="hint">{format!("Up to {MAX_BATCH} at a time")}</span>
                                        <span class="error" role="alert">{field_error("count")}</span>
                                    </div>
                                    <div class="field">
                                        <label for="voucher-days">"Unused ones stop working after (days)"</label>
                                        <input id="voucher-days" name="form[valid_days]" inputmode="numeric" value="90" />
                                        <span class="error" role="alert">{field_error("valid_days")}</span>
                                    </div>
                                </div>
                                <button type="submit" class="button" disabled=no_plans data-testid="make-vouchers">"Make vouchers"</button>
                            </ActionForm>
                        </section>
                    }
                });
                let batches = (!p.batches.is_empty()).then(|| view! {
                    <section class="card">
                        <h2>"Batches"</h2>
                        <div class="table-wrap">
                            <table data-testid="batches-table">
                                <thead><tr><th>"Made"</th><th>"Plan"</th><th>"Router"</th><th class="num">"Available"</th><th class="num">"Used"</th><th class="num">"Expired"</th><th></th></tr></thead>
                                <tbody>
                                    {p.batches.iter().map(|b| view! {
                                        <tr data-testid="batch-row">
                                            <td><a href=format!("/app/vouchers?batch={}", b.id)>{local_time(b.created_at, offset)}</a></td>
                                            <td>{b.plan_name.clone()}</td>
                                            <td>{b.router_name.clone().unwrap_or_else(|| "RADIUS".into())}</td>
                                            <td class="num">{b.available}</td>
                                            <td class="num">{b.used}</td>
                                            <td class="num">{b.expired}</td>
                                            <td><a href=format!("/vouchers/print/{}", b.id) target="_blank" rel="noopener" data-testid="print-batch">"Print"</a></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </section>
                });
                let list = if p.vouchers.is_empty() {
                    view! {
                        <section class="card empty-state">
                            <h2>"No vouchers here"</h2>
                            <p>"Make a batch for a hotspot plan, print the sheet and sell the codes: each works once, for the plan's time, from the moment it is first used."</p>
                        </section>
                    }.into_any()
                } else {
                    view! {
                        <p class="muted">{format!("{} voucher(s){}", p.total, if p.total > p.vouchers.len() as i64 { ", the newest 200 shown" } else { "" })}</p>
                        <div class="table-wrap">
                            <table data-testid="vouchers-table">
                                <thead><tr><th>"Code"</th><th>"Plan"</th><th>"Router"</th><th>"Status"</th><th>"Good until"</th><th>"Used"</th></tr></thead>
                                <tbody>
                                    {p.vouchers.iter().map(|v| view! {
                                        <tr data-testid="voucher-row">
                                            <td><code>{v.code.clone()}</code></td>
                                            <td>{v.plan_name.clone()}</td>
                                            <td>{v.router_name.clone().unwrap_or_else(|| "RADIUS".into())}</td>
                                            <td>{status_badge(v.status)}</td>
                                            <td>{local_time(v.expires_at, offset)}</td>
                                            <td>{v.used_at.map(|t| local_time(t, offset)).unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                };
                view! {
                    {generate_form}
                    {batches}
                    <nav class="tabs" aria-label="Filter by status">
                        <a href="/app/vouchers" aria-current=move || status().is_empty().then_some("page")>"All"</a>
                        {VoucherStatus::ALL.map(|s| view! {
                            <a href=format!("/app/vouchers?status={}", s.as_str()) aria-current=move || (status() == s.as_str()).then_some("page")>{s.label()}</a>
                        }).collect_view()}
                    </nav>
                    {list}
                }.into_any()
            })}
        </Suspense>
    }
}

/// `/vouchers/print/:batch`: the batch's available vouchers, many to an A4 page, with the
/// business name, plan, price and how to use them. Printed from the browser.
#[component]
pub fn VoucherSheetPage() -> impl IntoView {
    let params = use_params_map();
    let batch = move || {
        params
            .read()
            .get("batch")
            .and_then(|b| Uuid::parse_str(&b).ok())
    };
    let sheet = Resource::new(batch, |batch| async move {
        match batch {
            Some(batch) => get_voucher_sheet(batch).await,
            None => Err(AppError::NotFound {
                what: "That voucher batch".into(),
            }),
        }
    });
    view! {
        <Title text="Vouchers to print" />
        <main class="voucher-sheet">
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sheet.await {
                        Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                        Ok(s) => {
                            let count = s.codes.len();
                            view! {
                                <p class="no-print muted">{format!("{count} voucher(s). Print with your browser (Ctrl+P); each A4 page holds 40.")}</p>
                                <div class="voucher-grid" data-testid="voucher-sheet">
                                    {s.codes.iter().map(|code| view! {
                                        <div class="voucher-card" data-testid="voucher-card">
                                            <div class="voucher-business">{s.business.clone()}</div>
                                            <div class="voucher-plan">{format!("{} · {}", s.plan_name, format_kes(s.price_minor))}</div>
                                            <div class="voucher-code">{code.clone()}</div>
                                            <div class="voucher-terms">{format!("{} · {} · use by {}", s.validity, s.speed, s.expires_on)}</div>
                                        </div>
                                    }).collect_view()}
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}
