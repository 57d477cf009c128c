// One server-function argument per form field: the plain HTML form posts them as they are, and
// the generated client and handler take them one by one.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{error::AppError, settings::model::BusinessSettings};

/// The ISP's business details; every staff member may read them.
#[server(prefix = "/api", endpoint = "settings/business")]
pub async fn get_business_settings() -> Result<BusinessSettings, AppError> {
    use crate::auth::identity;
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::settings::service::get(&state, &staff).await
    })
    .await
}

/// Changes the business details. Owner and admin only.
#[server(prefix = "/api", endpoint = "settings/business/update")]
pub async fn update_business_settings(
    name: String,
    county: String,
    address: String,
    phone: String,
    support_email: String,
    whatsapp: String,
    time_zone: String,
    grace_period_days: String,
) -> Result<BusinessSettings, AppError> {
    use crate::auth::identity;
    use crate::settings::service::{Form, update};
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let form = Form {
            name: &name,
            county: &county,
            address: &address,
            phone: &phone,
            support_email: &support_email,
            whatsapp: &whatsapp,
            time_zone: &time_zone,
            grace_period_days: &grace_period_days,
        };
        update(&state, &staff, form, &identity::request_meta()).await
    })
    .await
}
