use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::{
    auth::model::Role,
    error::AppError,
    settings::SettingsTabs,
    staff::{
        api::{AcceptInvitation, ChangeStaffRole, InviteStaff, SetStaffDisabled, list_staff},
        model::{StaffMember, StaffStatus},
    },
};

/// Settings → Staff: invite people with a role, change roles, disable and re-enable.
#[component]
pub fn StaffPage() -> impl IntoView {
    let invite = ServerAction::<InviteStaff>::new();
    let change_role = ServerAction::<ChangeStaffRole>::new();
    let set_disabled = ServerAction::<SetStaffDisabled>::new();
    let staff = Resource::new(
        move || {
            (
                invite.version().get(),
                change_role.version().get(),
                set_disabled.version().get(),
            )
        },
        |_| list_staff(),
    );
    let invited = invite.value();
    let row_error = move || {
        change_role
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| set_disabled.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };

    view! {
        <Title text="Staff" />
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <SettingsTabs />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match staff.await {
                    Err(AppError::Forbidden) => view! {
                        <section class="card empty-state">
                            <h2>"Owners and admins manage staff"</h2>
                            <p>"Ask your owner or an admin to invite people or change roles."</p>
                        </section>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-danger" role="alert">{err.to_string()}</p> }.into_any(),
                    Ok(members) => view! {
                        <section class="card" aria-labelledby="invite-title">
                            <h2 id="invite-title">"Invite someone"</h2>
                            <ActionForm action=invite>
                                <div class="form form-inline">
                                    <div class="field">
                                        <label for="invite-name">"Name"</label>
                                        <input id="invite-name" name="name" required autocomplete="off" />
                                    </div>
                                    <div class="field">
                                        <label for="invite-email">"Email"</label>
                                        <input id="invite-email" name="email" type="email" required autocomplete="off" />
                                    </div>
                                    <div class="field">
                                        <label for="invite-role">"Role"</label>
                                        <select id="invite-role" name="role">
                                            <option value="support">"Support: customer care"</option>
                                            <option value="admin">"Admin: everything but billing"</option>
                                        </select>
                                    </div>
                                    <button type="submit" class="button">"Send invitation"</button>
                                </div>
                            </ActionForm>
                            {move || invited.get().map(|r| match r {
                                Ok(m) => view! { <p class="alert alert-info" role="status" data-testid="invited">{format!("Invitation sent to {}.", m.email)}</p> }.into_any(),
                                Err(e) => view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any(),
                            })}
                        </section>
                        {move || row_error().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Actions"</th></tr>
                                </thead>
                                <tbody>
                                    {members.into_iter().map(|m| view! { <StaffRow member=m change_role set_disabled /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn StaffRow(
    member: StaffMember,
    change_role: ServerAction<ChangeStaffRole>,
    set_disabled: ServerAction<SetStaffDisabled>,
) -> impl IntoView {
    let id: Uuid = member.id;
    let is_owner = member.role == Role::Owner;
    let disabled = member.status == StaffStatus::Disabled;
    let (confirming, set_confirming) = signal(false);
    view! {
        <tr data-testid="staff-row">
            <td>{member.name.clone()}</td>
            <td>{member.email.clone()}</td>
            <td>
                {if is_owner {
                    view! { <span>"Owner"</span> }.into_any()
                } else {
                    let current = member.role;
                    view! {
                        <ActionForm action=change_role>
                            <input type="hidden" name="user_id" value=id.to_string() />
                            <select name="role" aria-label=format!("Role of {}", member.name)>
                                <option value="support" selected=current == Role::Support>"Support"</option>
                                <option value="admin" selected=current == Role::Admin>"Admin"</option>
                            </select>
                            " "
                            <button type="submit" class="button button-secondary button-small">"Save"</button>
                        </ActionForm>
                    }.into_any()
                }}
            </td>
            <td><span class=member.status.badge()>{member.status.label()}</span></td>
            <td>
                {(!is_owner).then(|| view! {
                    <Show
                        when=move || confirming.get()
                        fallback=move || view! {
                            <button type="button" class="button button-secondary button-small"
                                on:click=move |_| set_confirming.set(true)>
                                {if disabled { "Enable" } else { "Disable" }}
                            </button>
                        }
                    >
                        <ActionForm action=set_disabled>
                            <input type="hidden" name="user_id" value=id.to_string() />
                            <input type="hidden" name="disabled" value=(!disabled).to_string() />
                            <button type="submit" class="button button-danger button-small">
                                {if disabled { "Yes, enable" } else { "Yes, disable and sign out" }}
                            </button>
                            " "
                            <button type="button" class="button-link" on:click=move |_| set_confirming.set(false)>"Cancel"</button>
                        </ActionForm>
                    </Show>
                })}
            </td>
        </tr>
    }
}

/// `/accept-invitation?token=…`: the invitee chooses a password.
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<AcceptInvitation>::new();
    let value = action.value();
    let error = move || match value.get() {
        Some(Err(AppError::Invalid { field, reason })) if field == "password" => {
            Some(format!("Password {reason}."))
        }
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    };
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Title text="Join your team" />
        <main class="auth-page" data-hydrated=move || hydrated.get().to_string()>
            <section class="card auth-card">
                <h1>"Join your team on Jasiyo"</h1>
                <Show
                    when=move || matches!(value.get(), Some(Ok(())))
                    fallback=move || view! {
                        <ActionForm action=action>
                            <div class="form">
                                {move || error().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
                                <input type="hidden" name="token" value=token />
                                <div class="field">
                                    <label for="new_password">"Choose a password"</label>
                                    <input id="new_password" name="new_password" type="password" autocomplete="new-password" required />
                                    <span class="hint">"At least 8 characters."</span>
                                </div>
                                <button type="submit" class="button">"Join"</button>
                            </div>
                        </ActionForm>
                    }
                >
                    <p class="alert alert-info" role="status" data-testid="joined">"You are in. Sign in with your email and new password."</p>
                    <p><a href="/login">"Sign in"</a></p>
                </Show>
            </section>
        </main>
    }
}
