use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    error::AppError,
    money::format_kes,
    plans::{
        api::{ArchivePlan, CreatePlan, DeletePlan, UpdatePlan, list_plans},
        model::{Plan, PlanForm, PlanKind, ValidityUnit, parse_mbps, rate_limit},
    },
};

/// `/app/plans`: the packages for sale, and a form for a new one with a live preview of the
/// router rate limit, computed in the browser by the same code the server runs.
#[component]
pub fn PlansPage() -> impl IntoView {
    let create = ServerAction::<CreatePlan>::new();
    let archive = ServerAction::<ArchivePlan>::new();
    let delete = ServerAction::<DeletePlan>::new();
    let update = ServerAction::<UpdatePlan>::new();
    let plans = Resource::new(
        move || {
            (
                create.version().get(),
                archive.version().get(),
                delete.version().get(),
                update.version().get(),
            )
        },
        |_| list_plans(),
    );
    let created = create.value();
    let field_error = move |field: &'static str| {
        move || match created.get() {
            Some(Err(AppError::Invalid { field: f, reason })) if f == field => Some(reason),
            _ => None,
        }
    };
    let action_error = move || {
        archive
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
            .or_else(|| update.value().get().and_then(Result::err))
            .map(|e| match e {
                AppError::Invalid { field, reason } => {
                    format!("{}: {reason}", field.replace('_', " "))
                }
                other => other.to_string(),
            })
    };

    // The live preview.
    let (down, set_down) = signal(String::from("10"));
    let (up, set_up) = signal(String::from("5"));
    let (burst_down, set_burst_down) = signal(String::new());
    let (burst_up, set_burst_up) = signal(String::new());
    let preview = move || {
        let d = parse_mbps("d", &down.get()).ok()?;
        let u = parse_mbps("u", &up.get()).ok()?;
        let burst = match (
            parse_mbps("bd", &burst_down.get()),
            parse_mbps("bu", &burst_up.get()),
        ) {
            (Ok(bd), Ok(bu)) => Some((bd, bu)),
            _ => None,
        };
        Some(rate_limit(d, u, burst))
    };

    view! {
        <Title text="Plans" />
        <header class="page-header">
            <h1>"Plans"</h1>
        </header>
        {move || action_error().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match plans.await {
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <section class="card empty-state">
                            <h2>"No plans yet"</h2>
                            <p>"Add the packages you sell below: a name, a price, how long it lasts and how fast it is."</p>
                        </section>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table data-testid="plans-table">
                                <thead><tr>
                                    <th>"Plan"</th><th>"Kind"</th><th class="num">"Price"</th><th>"Validity"</th>
                                    <th>"Rate limit (rx/tx)"</th><th>"Status"</th><th>"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! { <PlanRow plan=p archive delete update /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>

        <section class="card plan-form" aria-labelledby="new-plan-title">
            <h2 id="new-plan-title">"New plan"</h2>
            {move || match created.get() {
                Some(Ok(p)) => Some(view! { <p class="alert alert-info" role="status" data-testid="plan-created">{format!("{} added.", p.name)}</p> }.into_any()),
                Some(Err(AppError::Invalid { .. })) | None => None,
                Some(Err(e)) => Some(view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any()),
            }}
            <ActionForm action=create>
                <div class="form-grid">
                    <PlanField name="name" label="Name" error=field_error("name")><input id="name" name="form[name]" required placeholder="Home 10 Mbps" /></PlanField>
                    <PlanField name="kind" label="Kind" error=field_error("kind")>
                        <select id="kind" name="form[kind]">
                            {PlanKind::ALL.map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </PlanField>
                    <PlanField name="price" label="Price (KES)" error=field_error("price")><input id="price" name="form[price]" inputmode="decimal" required placeholder="2,500" /></PlanField>
                    <PlanField name="validity_count" label="Lasts" error=field_error("validity_count")>
                        <span class="input-pair">
                            <input id="validity_count" name="form[validity_count]" inputmode="numeric" value="1" required />
                            <select name="form[validity_unit]" aria-label="Unit">
                                {ValidityUnit::ALL.map(|u| view! { <option value=u.as_str() selected=u == ValidityUnit::Months>{u.as_str()}</option> }).collect_view()}
                            </select>
                        </span>
                    </PlanField>
                    <PlanField name="download_mbps" label="Download (Mbps)" error=field_error("download_mbps")>
                        <input id="download_mbps" name="form[download_mbps]" inputmode="decimal" required prop:value=down on:input=move |ev| set_down.set(event_target_value(&ev)) />
                    </PlanField>
                    <PlanField name="upload_mbps" label="Upload (Mbps)" error=field_error("upload_mbps")>
                        <input id="upload_mbps" name="form[upload_mbps]" inputmode="decimal" required prop:value=up on:input=move |ev| set_up.set(event_target_value(&ev)) />
                    </PlanField>
                    <PlanField name="burst_download_mbps" label="Burst download (optional)" error=field_error("burst_download_mbps")>
                        <input id="burst_download_mbps" name="form[burst_download_mbps]" inputmode="decimal" on:input=move |ev| set_burst_down.set(event_target_value(&ev)) />
                    </PlanField>
                    <PlanField name="burst_upload_mbps" label="Burst upload (optional)" error=field_error("burst_upload_mbps")>
                        <input id="burst_upload_mbps" name="form[burst_upload_mbps]" inputmode="decimal" on:input=move |ev| set_burst_up.set(event_target_value(&ev)) />
                    </PlanField>
                    <PlanField name="data_cap_gb" label="Data cap in GB (optional)" error=field_error("data_cap_gb")><input id="data_cap_gb" name="form[data_cap_gb]" inputmode="decimal" /></PlanField>
                    <PlanField name="shared_users" label="Devices at once (hotspot, optional)" error=field_error("shared_users")><input id="shared_users" name="form[shared_users]" inputmode="numeric" /></PlanField>
                </div>
                <p class="muted">"Router rate limit: " <code data-testid="rate-preview">{move || preview().unwrap_or_else(|| "—".into())}</code></p>
                <button type="submit" class="button">"Add plan"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PlanField<E>(
    name: &'static str,
    label: &'static str,
    error: E,
    children: Children,
) -> impl IntoView
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

#[component]
fn PlanRow(
    plan: Plan,
    archive: ServerAction<ArchivePlan>,
    delete: ServerAction<DeletePlan>,
    update: ServerAction<UpdatePlan>,
) -> impl IntoView {
    let id = plan.id; // Copy, so the confirm closures can use it again and again
    let archived = plan.archived;
    let (confirm_delete, set_confirm_delete) = signal(false);
    let (editing, set_editing) = signal(false);
    let form = StoredValue::new(PlanForm::from(&plan));
    // Close the editor once a save of this plan succeeds.
    Effect::new(move |_| {
        if update
            .value()
            .get()
            .is_some_and(|r| r.is_ok_and(|p| p.id == id))
        {
            set_editing.set(false);
        }
    });
    let speed = plan.rate_limit();
    view! {
        <tr data-testid="plan-row">
            <td>{plan.name.clone()}</td>
            <td>{plan.kind.label()}</td>
            <td class="num">{format_kes(plan.price_minor)}</td>
            <td>{plan.validity_label()}</td>
            <td><code>{speed}</code></td>
            <td>{if archived { view! { <span class="badge badge-neutral">"Archived"</span> } } else { view! { <span class="badge badge-success">"On sale"</span> } }}</td>
            <td>
                <ActionForm action=archive>
                    <input type="hidden" name="id" value=id.to_string() />
                    <input type="hidden" name="archived" value=(!archived).to_string() />
                    <button type="submit" class="button button-secondary button-small">{if archived { "Restore" } else { "Archive" }}</button>
                </ActionForm>
                <button type="button" class="button-link" data-testid="edit-plan" on:click=move |_| set_editing.update(|e| *e = !*e)>
                    {move || if editing.get() { "Close" } else { "Edit" }}
                </button>
                <Show when=move || confirm_delete.get() fallback=move || view! {
                    <button type="button" class="button-link" on:click=move |_| set_confirm_delete.set(true)>"Delete"</button>
                }>
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=id.to_string() />
                        <button type="submit" class="button button-danger button-small">"Yes, delete"</button>
                        <button type="button" class="button-link" on:click=move |_| set_confirm_delete.set(false)>"Cancel"</button>
                    </ActionForm>
                </Show>
            </td>
        </tr>
        <Show when=move || editing.get()>
            <tr class="edit-row">
                <td colspan="7">
                    <ActionForm action=update>
                        <input type="hidden" name="id" value=id.to_string() />
                        <div class="form-grid">
                            <EditField label="Name" name="form[name]" value=form.with_value(|f| f.name.clone()) />
                            <div class="field">
                                <label for=format!("kind-{id}")>"Kind"</label>
                                <select id=format!("kind-{id}") name="form[kind]">
                                    {PlanKind::ALL.map(|k| view! { <option value=k.as_str() selected=k.as_str() == form.with_value(|f| f.kind.clone())>{k.label()}</option> }).collect_view()}
                                </select>
                            </div>
                            <EditField label="Price (KES)" name="form[price]" value=form.with_value(|f| f.price.clone()) />
                            <div class="field">
                                <label for=format!("count-{id}")>"Lasts"</label>
                                <span class="input-pair">
                                    <input id=format!("count-{id}") name="form[validity_count]" inputmode="numeric" value=form.with_value(|f| f.validity_count.clone()) />
                                    <select name="form[validity_unit]" aria-label="Unit">
                                        {ValidityUnit::ALL.map(|u| view! { <option value=u.as_str() selected=u.as_str() == form.with_value(|f| f.validity_unit.clone())>{u.as_str()}</option> }).collect_view()}
                                    </select>
                                </span>
                            </div>
                            <EditField label="Download (Mbps)" name="form[download_mbps]" value=form.with_value(|f| f.download_mbps.clone()) />
                            <EditField label="Upload (Mbps)" name="form[upload_mbps]" value=form.with_value(|f| f.upload_mbps.clone()) />
                            <EditField label="Burst download" name="form[burst_download_mbps]" value=form.with_value(|f| f.burst_download_mbps.clone()) />
                            <EditField label="Burst upload" name="form[burst_upload_mbps]" value=form.with_value(|f| f.burst_upload_mbps.clone()) />
                            <EditField label="Data cap (GB)" name="form[data_cap_gb]" value=form.with_value(|f| f.data_cap_gb.clone()) />
                            <EditField label="Devices at once" name="form[shared_users]" value=form.with_value(|f| f.shared_users.clone()) />
                        </div>
                        <button type="submit" class="button button-small" data-testid="save-plan">"Save changes"</button>
                    </ActionForm>
                </td>
            </tr>
        </Show>
    }
}

/// A labelled input of the edit form (labels tie to inputs by a generated id).
#[component]
fn EditField(label: &'static str, name: &'static str, value: String) -> impl IntoView {
    let id = format!(
        "edit-{}",
        name.trim_start_matches("form[").trim_end_matches(']')
    );
    view! {
        <div class="field">
            <label>{label}<input id=id name=name value=value /></label>
        </div>
    }
}
