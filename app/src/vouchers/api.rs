//! Server functions for vouchers. Every one checks the caller on the server.

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    error::AppError,
    vouchers::model::{VoucherForm, VoucherPage, VoucherSheet},
};

#[server(prefix = "/api", endpoint = "vouchers/list")]
pub async fn list_vouchers(
    #[server(default)] status: String,
    #[server(default)] batch: String,
) -> Result<VoucherPage, AppError> {
    use crate::{auth::identity, state::app_state, vouchers::model::VoucherStatus};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let batch = Uuid::parse_str(batch.trim()).ok();
        crate::vouchers::service::page(&state, &staff, VoucherStatus::parse(status.trim()), batch)
            .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "vouchers/generate")]
pub async fn generate_vouchers(form: VoucherForm) -> Result<Uuid, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let input = form.check()?;
        crate::vouchers::service::generate(&state, &staff, &input, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "vouchers/sheet")]
pub async fn get_voucher_sheet(batch: Uuid) -> Result<VoucherSheet, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::vouchers::service::sheet(&state, &staff, batch).await
    })
    .await
}
