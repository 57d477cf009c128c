//! `/app/customers/import`: choose a CSV file, see how many rows it has, import all of it or
//! nothing, and read a line-by-line report of whatever must be fixed first.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    customers::{api::import_customers, model::ImportReport},
    error::AppError,
};

/// The chosen file: its name, text and number of data rows (lines after the header).
#[derive(Clone, Debug, PartialEq)]
struct Chosen {
    name: String,
    text: String,
    rows: usize,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // read only in the browser
fn data_rows(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().trim_matches(',').is_empty())
        .count()
        .saturating_sub(1)
}

#[component]
pub fn ImportCustomersPage() -> impl IntoView {
    let (chosen, set_chosen) = signal(None::<Chosen>);
    let (read_error, set_read_error) = signal(None::<String>);
    let import = Action::new(|csv: &String| import_customers(csv.clone()));
    let pending = import.pending();

    let on_file = move |ev: leptos::ev::Event| {
        set_read_error.set(None);
        import.value().set(None);
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                set_chosen.set(None);
                return;
            };
            let name = file.name();
            leptos::task::spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    Ok(value) => {
                        let text = value.as_string().unwrap_or_default();
                        let rows = data_rows(&text);
                        set_chosen.set(Some(Chosen { name, text, rows }));
                    }
                    Err(_) => set_read_error.set(Some(
                        "That file could not be read. Save it as CSV (UTF-8) and choose it again."
                            .into(),
                    )),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, set_chosen);
    };

    view! {
        <Title text="Import customers" />
        <header class="page-header">
            <h1>"Import customers"</h1>
            <a class="button button-secondary" href="/app/customers">"Back to customers"</a>
        </header>
        <section class="card">
            <h2>"1. Prepare a CSV file"</h2>
            <p>
                "One customer per line, with a header line. Header names may use any case and spacing. "
                "Only " <strong>"name"</strong> " and " <strong>"phone"</strong> " are required."
            </p>
            <pre class="sample">"name,phone,account_number,email,location,notes,sms_consent,plan,username,password,expiry,status
    Achieng Odhiambo,0712 345 678,1042,,Kasarani,,yes,Home 8 Mbps,achieng,s3cret,2027-01-31,active"</pre>
            <ul class="muted">
                <li>"phone: 07…, 01…, +254… or 254…; account_number: letters and digits (blank: the next free number)."</li>
                <li>"plan: one of your plans by name; expiry: YYYY-MM-DD (to the end of that day) or YYYY-MM-DD HH:MM, in your time zone (blank: one plan period from now)."</li>
                <li>"status: active, expired or suspended; sms_consent: yes or no; billing_mode: prepaid or postpaid with billing_day 1–28."</li>
                <li>"A line whose account number (or, without one, phone number) is already a customer's is skipped, so importing the same file twice adds nobody twice."</li>
                <li>"The file is checked in full first: if any line has a problem, nothing is imported and every problem is listed."</li>
            </ul>
            <p class="muted">"An export from the customers page has these same columns."</p>
        </section>
        <section class="card">
            <h2>"2. Choose it and import"</h2>
            <noscript><p class="alert alert-danger">"Importing needs JavaScript to read the file in your browser."</p></noscript>
            <div class="field">
                <label for="csv-file">"CSV file"</label>
                <input id="csv-file" type="file" accept=".csv,text/csv" on:change=on_file data-testid="csv-file" />
            </div>
            {move || read_error.get().map(|e| view! { <p class="alert alert-danger" role="alert">{e}</p> })}
            {move || chosen.get().map(|c| {
                let rows = c.rows;
                view! {
                    <p data-testid="csv-summary">{format!("{}: {} customer line{}.", c.name, rows, if rows == 1 { "" } else { "s" })}</p>
                    <button type="button" class="button" disabled=pending data-testid="start-import"
                        on:click=move |_| {
                            if let Some(c) = chosen.get_untracked() {
                                import.dispatch(c.text);
                            }
                        }>
                        {format!("Import {rows} customers")}
                    </button>
                }
            })}
            <Show when=move || pending.get()>
                <div class="import-progress" role="status">
                    <progress aria-label="Importing"></progress>
                    <span>{move || format!("Checking and importing {} lines…", chosen.get().map_or(0, |c| c.rows))}</span>
                </div>
            </Show>
            {move || import.value().get().map(report_view)}
        </section>
    }
}

fn report_view(result: Result<ImportReport, AppError>) -> AnyView {
    match result {
        Err(e) => view! { <p class="alert alert-danger" role="alert">{e.to_string()}</p> }.into_any(),
        Ok(r) if r.error_count > 0 => view! {
            <div class="alert alert-danger" role="alert" data-testid="import-errors">
                <p><strong>{format!("Nothing was imported: {} problem{} to fix.", r.error_count, if r.error_count == 1 { "" } else { "s" })}</strong></p>
                {(r.errors.len() < r.error_count).then(|| view! { <p>{format!("The first {} are listed.", r.errors.len())}</p> })}
            </div>
            <div class="table-wrap">
                <table data-testid="import-error-table">
                    <thead><tr><th class="num">"Line"</th><th>"Column"</th><th>"Problem"</th></tr></thead>
                    <tbody>
                        {r.errors.into_iter().map(|e| view! {
                            <tr><td class="num">{e.line}</td><td>{if e.column.is_empty() { "—".to_string() } else { e.column }}</td><td>{e.message}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }.into_any(),
        Ok(r) => view! {
            <p class="alert alert-info" role="status" data-testid="import-done">
                {format!("Imported {} customer{}.", r.imported, if r.imported == 1 { "" } else { "s" })}
                {(r.skipped > 0).then(|| format!(" {} already present were skipped.", r.skipped))}
                {(!r.ignored_columns.is_empty()).then(|| format!(" Ignored columns: {}.", r.ignored_columns.join(", ")))}
            </p>
            <a class="button" href="/app/customers">"See your customers"</a>
        }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_rows_skip_the_header_and_blank_lines() {
        assert_eq!(super::data_rows("name,phone\na,1\n\nb,2\n,,\n"), 2);
        assert_eq!(super::data_rows(""), 0);
    }
}
